package io.tidings.server;

import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Properties;

/**
 * Credentials made on first start when the configuration gives none, kept in
 * {@code <dataDir>/dev-credentials.properties} (mode 600) so they survive restarts.
 *
 * @param created true if this start made them (they are then printed once)
 */
public record DevCredentials(String jwtSecret, String publishKey, String auditKey, boolean created) {
    public static final String FILE = "dev-credentials.properties";

    public static DevCredentials loadOrCreate(Path dataDir) throws IOException {
        Path file = dataDir.resolve(FILE);
        Properties p = new Properties();
        if (Files.exists(file)) {
            try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                p.load(r);
            }
            return new DevCredentials(p.getProperty("jwtSecret"), p.getProperty("publishKey"), p.getProperty("auditKey"), false);
        }
        Files.createDirectories(dataDir);
        DevCredentials c = new DevCredentials(random(32), "pub_" + random(18), "aud_" + random(18), true);
        p.setProperty("jwtSecret", c.jwtSecret);
        p.setProperty("publishKey", c.publishKey);
        p.setProperty("auditKey", c.auditKey);
        Path tmp = file.resolveSibling(FILE + ".tmp");
        try (Writer w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
            p.store(w, "Tidings dev credentials, generated because the configuration gives none. Keep private.");
        }
        try {
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException ignored) {
            // not a POSIX file system
        }
        Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        return c;
    }

    private static String random(int bytes) {
        byte[] b = new byte[bytes];
        new SecureRandom().nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }
}
