package io.tidings.server.auth;

import io.jsonwebtoken.security.Jwk;
import io.jsonwebtoken.security.JwkSet;
import io.jsonwebtoken.security.Jwks;
import io.jsonwebtoken.security.PublicJwk;

import java.io.ByteArrayInputStream;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.InvalidKeySpecException;
import java.security.spec.X509EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A set of public keys that verify RS256 (RSA, at least 2048 bits) and ES256 (EC P-256) tokens,
 * each with a key id ({@code kid}): from a JWKS document (its {@code kid}s) or from PEM text
 * ({@code PUBLIC KEY} or {@code CERTIFICATE} blocks, with the RFC 7638 thumbprint as id).
 * Immutable and thread-safe.
 */
public final class PublicKeys {
    public static final PublicKeys EMPTY = new PublicKeys(Map.of(), List.of());

    private static final Pattern PEM = Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----([^-]*)-----END \\1-----");

    private final Map<String, PublicKey> byId;
    private final List<PublicKey> all;

    private PublicKeys(Map<String, PublicKey> byId, List<PublicKey> all) {
        this.byId = Map.copyOf(byId);
        this.all = List.copyOf(all);
    }

    /** The key with id {@code kid}, or null. */
    public PublicKey byId(String kid) {
        return byId.get(kid);
    }

    /** Every key, in the order of their sources. */
    public List<PublicKey> all() {
        return all;
    }

    public int size() {
        return all.size();
    }

    public boolean isEmpty() {
        return all.isEmpty();
    }

    /** Both sets; a key id in both is taken from {@code this}. */
    public PublicKeys plus(PublicKeys other) {
        Map<String, PublicKey> ids = new LinkedHashMap<>(other.byId);
        ids.putAll(byId);
        List<PublicKey> keys = new ArrayList<>(all);
        for (PublicKey k : other.all) if (!keys.contains(k)) keys.add(k);
        return new PublicKeys(ids, keys);
    }

    /**
     * The keys of a JWKS document ({@code {"keys":[…]}}). Keys marked {@code "use":"enc"}, private or
     * secret keys and key types other than RSA and EC are skipped.
     *
     * @throws IllegalArgumentException if it is not a JWKS document or holds no usable key
     */
    public static PublicKeys fromJwks(String json) {
        JwkSet set;
        try {
            set = Jwks.setParser().ignoreUnsupported(true).build().parse(json);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("not a usable JWKS document: " + e.getMessage());
        }
        Map<String, PublicKey> ids = new LinkedHashMap<>();
        List<PublicKey> keys = new ArrayList<>();
        for (Jwk<?> jwk : set.getKeys()) {
            if (!(jwk instanceof PublicJwk<?> pub)) continue;
            if ("enc".equals(pub.getPublicKeyUse())) continue;
            PublicKey key = pub.toKey();
            if (!(key instanceof RSAPublicKey) && !(key instanceof ECPublicKey)) continue;
            keys.add(key);
            if (jwk.getId() != null) ids.put(jwk.getId(), key);
        }
        if (keys.isEmpty()) throw new IllegalArgumentException("the JWKS document holds no RSA or EC public signing key");
        return new PublicKeys(ids, keys);
    }

    /**
     * The keys of PEM text: {@code -----BEGIN PUBLIC KEY-----} (X.509 SubjectPublicKeyInfo, RSA or
     * EC) and {@code -----BEGIN CERTIFICATE-----} blocks, in order.
     *
     * @throws IllegalArgumentException if a block cannot be read or there is none
     */
    public static PublicKeys fromPem(String text) {
        Map<String, PublicKey> ids = new LinkedHashMap<>();
        List<PublicKey> keys = new ArrayList<>();
        Matcher m = PEM.matcher(text);
        int n = 0;
        while (m.find()) {
            n++;
            String type = m.group(1);
            byte[] der;
            try {
                der = Base64.getMimeDecoder().decode(m.group(2).trim());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("PEM block " + n + " (" + type + ") is not base64");
            }
            PublicKey key = switch (type) {
                case "PUBLIC KEY" -> publicKey(der, n);
                case "CERTIFICATE" -> certificateKey(der, n);
                case "RSA PUBLIC KEY" -> throw new IllegalArgumentException("PEM block " + n
                        + ": PKCS#1 'RSA PUBLIC KEY' is not supported; convert it with: openssl rsa -RSAPublicKey_in -pubout");
                default -> throw new IllegalArgumentException("PEM block " + n + ": " + type + " is not a public key or certificate");
            };
            keys.add(key);
            ids.put(thumbprint(key), key);
        }
        if (keys.isEmpty()) throw new IllegalArgumentException("no PEM public key or certificate found");
        return new PublicKeys(ids, keys);
    }

    private static PublicKey publicKey(byte[] der, int n) {
        for (String algorithm : new String[]{"RSA", "EC"}) {
            try {
                return KeyFactory.getInstance(algorithm).generatePublic(new X509EncodedKeySpec(der));
            } catch (InvalidKeySpecException | java.security.NoSuchAlgorithmException e) {
                // try the next algorithm
            }
        }
        throw new IllegalArgumentException("PEM block " + n + " is neither an RSA nor an EC public key");
    }

    private static PublicKey certificateKey(byte[] der, int n) {
        try {
            PublicKey key = CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(der)).getPublicKey();
            if (!(key instanceof RSAPublicKey) && !(key instanceof ECPublicKey)) {
                throw new IllegalArgumentException("PEM block " + n + ": the certificate's key is neither RSA nor EC");
            }
            return key;
        } catch (CertificateException e) {
            throw new IllegalArgumentException("PEM block " + n + " is not a readable X.509 certificate");
        }
    }

    /** The RFC 7638 JWK thumbprint (base64url SHA-256), the usual {@code kid} of a key published without one. */
    static String thumbprint(PublicKey key) {
        if (key instanceof RSAPublicKey rsa) return Jwks.builder().key(rsa).idFromThumbprint().build().getId();
        if (key instanceof ECPublicKey ec) return Jwks.builder().key(ec).idFromThumbprint().build().getId();
        throw new IllegalArgumentException("not an RSA or EC key");
    }
}
