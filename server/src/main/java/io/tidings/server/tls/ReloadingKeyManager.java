package io.tidings.server.tls;

import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;
import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The gateway's TLS identity, reloadable without a restart: an {@link X509ExtendedKeyManager} that
 * delegates to one built from the current PEM files. {@link #reloadIfChanged()} re-reads both files
 * and, when their content changed and they form a valid pair, swaps the delegate: new handshakes get
 * the new certificate, open connections keep theirs. A change that does not parse, or a key that
 * does not match the certificate, is given one more check (it may have been read half-way through
 * replacing the two files); if it is still invalid then, it is reported (logged, {@link Outcome#FAILED})
 * once, and the current identity stays.
 *
 * <p>Aliases handed out carry the generation of the identity that chose them, so a handshake that
 * straddles a swap still gets the certificate and the key of one and the same identity.
 *
 * <p>Thread safety: thread-safe. The identities are volatile references; reloads are serialised.
 */
public final class ReloadingKeyManager extends X509ExtendedKeyManager {
    private static final Logger LOG = Logger.getLogger(ReloadingKeyManager.class.getName());
    private static final char[] NO_PASSWORD = new char[0];

    /** What a reload check did. */
    public enum Outcome { UNCHANGED, RELOADED, FAILED }

    private final Path certFile;
    private final Path keyFile;
    private record Identity(int generation, X509ExtendedKeyManager keys, PemKeyPair pair) {
        String alias(String delegateAlias) {
            return delegateAlias == null ? null : "g" + generation + ":" + delegateAlias;
        }
    }

    private volatile Identity identity;
    private volatile Identity previous;
    private byte[] loadedDigest;
    private byte[] failedDigest;
    private byte[] suspectDigest;

    /** Loads the files; fails if they do not form a valid pair (the gateway must not start without TLS). */
    public ReloadingKeyManager(Path certFile, Path keyFile) throws IOException, GeneralSecurityException {
        this.certFile = certFile;
        this.keyFile = keyFile;
        byte[] digest = digest();
        install(PemKeyPair.read(certFile, keyFile));
        this.loadedDigest = digest;
    }

    /** An SSLContext (TLS 1.2 and 1.3) whose server identity follows this key manager. */
    public SSLContext sslContext() throws GeneralSecurityException {
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(new KeyManager[] {this}, null, null);
        return context;
    }

    /** The pair served now. */
    public PemKeyPair current() {
        return identity.pair();
    }

    /** Re-reads the files; swaps the identity if their content changed and is valid. */
    public synchronized Outcome reloadIfChanged() {
        byte[] digest;
        try {
            digest = digest();
        } catch (IOException e) {
            return failOnce(null, "cannot read " + certFile + " / " + keyFile + ": " + e.getMessage());
        }
        if (Arrays.equals(digest, loadedDigest)) return Outcome.UNCHANGED;
        if (Arrays.equals(digest, failedDigest)) return Outcome.UNCHANGED; // already reported
        try {
            PemKeyPair pair = PemKeyPair.read(certFile, keyFile);
            install(pair);
            loadedDigest = digest;
            failedDigest = null;
            suspectDigest = null;
            LOG.info("TLS certificate reloaded: " + pair.describe());
            return Outcome.RELOADED;
        } catch (IOException | GeneralSecurityException | RuntimeException e) {
            if (!Arrays.equals(digest, suspectDigest)) {
                // maybe caught between replacing the certificate and the key: judge it at the next check
                suspectDigest = digest;
                return Outcome.UNCHANGED;
            }
            return failOnce(digest, "TLS certificate not reloaded, keeping " + identity.pair().describe() + ": " + e.getMessage());
        }
    }

    private Outcome failOnce(byte[] digest, String message) {
        failedDigest = digest;
        LOG.log(Level.WARNING, message);
        return Outcome.FAILED;
    }

    private byte[] digest() throws IOException {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(Files.readAllBytes(certFile));
            md.update((byte) 0);
            md.update(Files.readAllBytes(keyFile));
            return md.digest();
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private void install(PemKeyPair pair) throws GeneralSecurityException, IOException {
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        store.setKeyEntry("tidings", pair.key(), NO_PASSWORD, pair.chain().toArray(new X509Certificate[0]));
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(store, NO_PASSWORD);
        for (KeyManager km : kmf.getKeyManagers()) {
            if (km instanceof X509ExtendedKeyManager x) {
                Identity old = identity;
                previous = old;
                identity = new Identity(old == null ? 0 : old.generation() + 1, x, pair);
                return;
            }
        }
        throw new GeneralSecurityException("no X509ExtendedKeyManager from " + kmf.getAlgorithm());
    }

    // ---- X509ExtendedKeyManager: server side, through the identity that chose the alias ------

    private Identity of(String alias) {
        Identity now = identity, before = previous;
        if (alias != null && alias.startsWith("g")) {
            int colon = alias.indexOf(':');
            if (colon > 0) {
                String g = alias.substring(1, colon);
                if (g.equals(Integer.toString(now.generation()))) return now;
                if (before != null && g.equals(Integer.toString(before.generation()))) return before;
            }
        }
        return null;
    }

    private static String strip(String alias) {
        return alias.substring(alias.indexOf(':') + 1);
    }

    @Override
    public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
        Identity id = identity;
        return id.alias(id.keys().chooseEngineServerAlias(keyType, issuers, engine));
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
        Identity id = identity;
        return id.alias(id.keys().chooseServerAlias(keyType, issuers, socket));
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
        Identity id = of(alias);
        return id == null ? null : id.keys().getCertificateChain(strip(alias));
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
        Identity id = of(alias);
        return id == null ? null : id.keys().getPrivateKey(strip(alias));
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
        Identity id = identity;
        String[] aliases = id.keys().getServerAliases(keyType, issuers);
        return aliases == null ? null : Arrays.stream(aliases).map(id::alias).toArray(String[]::new);
    }

    // the gateway never authenticates as a TLS client
    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
        return null;
    }

    @Override
    public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
        return null;
    }

    @Override
    public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
        return null;
    }
}
