package io.tidings.server.tls;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A certificate chain and its private key, read from PEM files with JDK APIs only. The certificate
 * file holds the server certificate first, then any intermediates. The key file holds an
 * unencrypted PKCS#8 key ({@code BEGIN PRIVATE KEY}: RSA, EC or Ed25519) or a PKCS#1 RSA key
 * ({@code BEGIN RSA PRIVATE KEY}); others are refused with the openssl command that converts them.
 * Immutable.
 */
public record PemKeyPair(List<X509Certificate> chain, PrivateKey key) {
    private static final Pattern BLOCK = Pattern.compile(
            "-----BEGIN ([A-Z0-9 ]+)-----\\s*([A-Za-z0-9+/=\\s]+?)\\s*-----END \\1-----");

    public X509Certificate leaf() {
        return chain.get(0);
    }

    /** Reads and checks both files: parseable, and the key belongs to the first certificate. */
    public static PemKeyPair read(Path certFile, Path keyFile) throws IOException, GeneralSecurityException {
        return parse(Files.readAllBytes(certFile), Files.readAllBytes(keyFile));
    }

    static PemKeyPair parse(byte[] certPem, byte[] keyPem) throws GeneralSecurityException {
        List<X509Certificate> chain = certificates(certPem);
        PrivateKey key = privateKey(new String(keyPem, StandardCharsets.US_ASCII));
        if (!matches(key, chain.get(0).getPublicKey())) {
            throw new GeneralSecurityException("the private key does not belong to the certificate "
                    + chain.get(0).getSubjectX500Principal());
        }
        return new PemKeyPair(chain, key);
    }

    private static List<X509Certificate> certificates(byte[] pem) throws GeneralSecurityException {
        var certs = CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(pem));
        if (certs.isEmpty()) throw new GeneralSecurityException("no certificate in the certificate file");
        return certs.stream().map(c -> (X509Certificate) c).toList();
    }

    private static PrivateKey privateKey(String pem) throws GeneralSecurityException {
        Matcher m = BLOCK.matcher(pem);
        while (m.find()) {
            String type = m.group(1);
            byte[] der = Base64.getMimeDecoder().decode(m.group(2));
            switch (type) {
                case "PRIVATE KEY" -> {
                    return pkcs8(der);
                }
                case "RSA PRIVATE KEY" -> {
                    return KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(wrapPkcs1(der)));
                }
                case "ENCRYPTED PRIVATE KEY" -> throw new GeneralSecurityException(
                        "the key is encrypted; store it unencrypted, readable only by the gateway's user "
                                + "(openssl pkcs8 -topk8 -nocrypt -in key.pem -out key-pkcs8.pem)");
                case "EC PRIVATE KEY" -> throw new GeneralSecurityException(
                        "SEC1 EC keys are not read; convert to PKCS#8: openssl pkcs8 -topk8 -nocrypt -in key.pem -out key-pkcs8.pem");
                default -> { /* e.g. EC PARAMETERS before the key: skip */ }
            }
        }
        throw new GeneralSecurityException("no PEM private key in the key file");
    }

    private static PrivateKey pkcs8(byte[] der) throws GeneralSecurityException {
        GeneralSecurityException last = null;
        for (String algorithm : new String[] {"RSA", "EC", "Ed25519", "RSASSA-PSS"}) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (GeneralSecurityException e) {
                last = e;
            }
        }
        throw new GeneralSecurityException("unsupported PKCS#8 private key", last);
    }

    /** PKCS#1 RSAPrivateKey → PKCS#8 PrivateKeyInfo { version 0, rsaEncryption, OCTET STRING pkcs1 }. */
    private static byte[] wrapPkcs1(byte[] pkcs1) {
        byte[] algorithm = {0x30, 0x0d, 0x06, 0x09, 0x2a, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00};
        byte[] version = {0x02, 0x01, 0x00};
        byte[] octets = der(0x04, pkcs1);
        byte[] body = new byte[version.length + algorithm.length + octets.length];
        System.arraycopy(version, 0, body, 0, version.length);
        System.arraycopy(algorithm, 0, body, version.length, algorithm.length);
        System.arraycopy(octets, 0, body, version.length + algorithm.length, octets.length);
        return der(0x30, body);
    }

    private static byte[] der(int tag, byte[] content) {
        byte[] length = content.length < 128 ? new byte[] {(byte) content.length} : longLength(content.length);
        byte[] out = new byte[1 + length.length + content.length];
        out[0] = (byte) tag;
        System.arraycopy(length, 0, out, 1, length.length);
        System.arraycopy(content, 0, out, 1 + length.length, content.length);
        return out;
    }

    private static byte[] longLength(int n) {
        byte[] v = BigInteger.valueOf(n).toByteArray();
        int skip = v[0] == 0 ? 1 : 0;
        byte[] out = new byte[1 + v.length - skip];
        out[0] = (byte) (0x80 | (v.length - skip));
        System.arraycopy(v, skip, out, 1, v.length - skip);
        return out;
    }

    /** Signs a probe with the private key and verifies it with the certificate's public key. */
    private static boolean matches(PrivateKey key, PublicKey publicKey) throws GeneralSecurityException {
        String algorithm = switch (key.getAlgorithm()) {
            case "RSA" -> "SHA256withRSA";
            case "EC" -> "SHA256withECDSA";
            case "Ed25519", "EdDSA" -> "Ed25519";
            case "RSASSA-PSS" -> "RSASSA-PSS";
            default -> throw new GeneralSecurityException("unsupported key algorithm " + key.getAlgorithm());
        };
        if (!key.getAlgorithm().equals(publicKey.getAlgorithm())
                && !(key.getAlgorithm().startsWith("Ed") && publicKey.getAlgorithm().startsWith("Ed"))) {
            return false;
        }
        byte[] probe = "tidings key check".getBytes(StandardCharsets.US_ASCII);
        try {
            Signature s = Signature.getInstance(algorithm);
            if (algorithm.equals("RSASSA-PSS")) {
                s.setParameter(new java.security.spec.PSSParameterSpec("SHA-256", "MGF1",
                        java.security.spec.MGF1ParameterSpec.SHA256, 32, 1));
            }
            s.initSign(key);
            s.update(probe);
            byte[] signature = s.sign();
            s.initVerify(publicKey);
            s.update(probe);
            return s.verify(signature);
        } catch (java.security.InvalidKeyException | java.security.SignatureException e) {
            return false;
        }
    }

    /** For messages: subject, serial and validity of the leaf. */
    public String describe() {
        X509Certificate c = leaf();
        return c.getSubjectX500Principal().getName() + " (serial " + c.getSerialNumber().toString(16)
                + ", valid until " + c.getNotAfter().toInstant() + ")";
    }
}
