package io.tidings.server;

import io.tidings.server.metrics.Metrics;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Watches the {@code --config} file and, when its content changes, loads it again (with the same
 * environment on top, so precedence stays) and hands the new configuration to {@code apply}, which
 * takes what can change without a restart (the API keys). A file that no longer parses, or whose
 * keys are invalid, changes nothing: the error is logged and counted
 * ({@code tidings_config_reloads_total{outcome="failed"}}), the old keys stay.
 *
 * <p>The content is compared rather than only the modification time, whose granularity (a second
 * on some file systems) could hide an edit of the same size.
 *
 * <p>Thread safety: {@link #check} is called by one thread (the gateway's maintenance thread).
 */
final class ConfigReloader {
    private static final Logger LOG = Logger.getLogger(ConfigReloader.class.getName());

    private final Path file;
    private final Map<String, String> env;
    private final Consumer<GatewayConfig> apply;
    private final Metrics metrics;
    private byte[] applied;

    /** @param apply takes the new configuration; throws IllegalArgumentException if it is unusable */
    ConfigReloader(Path file, Map<String, String> env, Consumer<GatewayConfig> apply, Metrics metrics) throws IOException {
        this.file = file;
        this.env = env;
        this.apply = apply;
        this.metrics = metrics;
        this.applied = Files.readAllBytes(file);
        metrics.declareConfigReloads();
    }

    void check() {
        byte[] now;
        try {
            now = Files.readAllBytes(file);
        } catch (IOException e) {
            if (applied != null) { // log once per disappearance
                LOG.warning("config file " + file + " cannot be read (" + e + "); keeping the current keys");
                metrics.configReload("failed");
            }
            applied = null;
            return;
        }
        if (Arrays.equals(now, applied)) return;
        applied = now;
        try {
            apply.accept(GatewayConfig.load(file, env));
            metrics.configReload("ok");
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.SEVERE, "config file " + file + " changed but cannot be used; keeping the current keys: " + e.getMessage());
            metrics.configReload("failed");
        }
    }
}
