package io.tidings.server.auth;

import io.tidings.server.metrics.Metrics;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The public keys that verify RS256/ES256 tokens, kept current without a restart: a PEM file
 * ({@code jwtPublicKeyFile}) and a JWKS file ({@code jwksFile}) are re-read when their content
 * changes (checked every second), a JWKS URL ({@code jwksUrl}) is fetched every
 * {@code jwksRefreshIntervalMs}. A token whose {@code kid} is unknown triggers an early refresh of
 * every source, at most once per {@code jwksMinRefreshIntervalMs}, so a key the issuer just added
 * is found while a flood of made-up {@code kid}s cannot make the gateway hammer the issuer. A source
 * that fails (unreadable, not parseable, HTTP error) keeps its previous keys; the failure is logged
 * and counted ({@code tidings_jwt_key_refreshes_total}). Removing a key from its source revokes it
 * at the next refresh.
 *
 * <p>Files must be valid at start-up (a typo fails fast); the URL may be down at start-up (logged,
 * retried): HS256 tokens keep working meanwhile.
 *
 * <p>Thread safety: thread-safe. Refreshes run on one thread of their own ({@code tidings-jwt-keys})
 * and on the HTTP client's threads, never on the caller's; {@link #current()} is a volatile read.
 */
public final class JwtKeys implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(JwtKeys.class.getName());
    static final long FILE_CHECK_MS = 1_000;

    /** One file source: its last content (refresh thread only) and keys (read by {@link #publish} from any thread). */
    private static final class FileSource {
        final Path path;
        final Function<String, PublicKeys> parser;
        final String kind;
        byte[] content;
        volatile PublicKeys keys = PublicKeys.EMPTY;

        FileSource(Path path, Function<String, PublicKeys> parser, String kind) {
            this.path = path;
            this.parser = parser;
            this.kind = kind;
        }
    }

    private final List<FileSource> files = new ArrayList<>();
    private final URI url;
    private final Duration timeout;
    private final long minRefreshNanos;
    private final Metrics metrics;
    private final HttpClient http;
    private final ScheduledExecutorService executor;
    private volatile PublicKeys urlKeys = PublicKeys.EMPTY;
    private volatile PublicKeys current = PublicKeys.EMPTY;
    private final Object refreshLock = new Object();
    private CompletableFuture<Void> onDemand;        // guarded by refreshLock
    private long lastOnDemandNanos = System.nanoTime() - Long.MAX_VALUE / 2;
    private CompletableFuture<Void> fetching;         // guarded by refreshLock

    /**
     * @param pemFile  PEM public keys / certificates, or null
     * @param jwksFile a JWKS document, or null
     * @param url      a JWKS document over HTTP(S), or null
     * @throws IllegalArgumentException if a file cannot be read or holds no usable key
     */
    public JwtKeys(Path pemFile, Path jwksFile, URI url, long refreshIntervalMs, long minRefreshIntervalMs, long timeoutMs, Metrics metrics) {
        this.url = url;
        this.timeout = Duration.ofMillis(timeoutMs);
        this.minRefreshNanos = TimeUnit.MILLISECONDS.toNanos(minRefreshIntervalMs);
        this.metrics = metrics;
        if (pemFile != null) files.add(new FileSource(pemFile, PublicKeys::fromPem, "jwtPublicKeyFile"));
        if (jwksFile != null) files.add(new FileSource(jwksFile, PublicKeys::fromJwks, "jwksFile"));
        for (FileSource f : files) {
            try {
                f.content = Files.readAllBytes(f.path);
                f.keys = f.parser.apply(new String(f.content, StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new IllegalArgumentException(f.kind + ": cannot read " + f.path + ": " + e.getMessage());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(f.kind + " " + f.path + ": " + e.getMessage());
            }
        }
        this.http = url == null ? null : HttpClient.newBuilder().connectTimeout(timeout)
                .followRedirects(HttpClient.Redirect.NORMAL).build();
        this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "tidings-jwt-keys");
            t.setDaemon(true);
            return t;
        });
        publish();
        metrics.bindJwtKeys(() -> current.size());
        if (!files.isEmpty()) metrics.declareJwtKeys("file");
        if (url != null) metrics.declareJwtKeys("url");
        if (url != null) {
            try {
                fetch().get(timeoutMs + 1_000, TimeUnit.MILLISECONDS); // first keys before the first connection, if the issuer is up
            } catch (Exception e) {
                LOG.warning("jwksUrl " + url + ": first fetch did not finish (" + e + "); retrying in the background");
            }
            executor.scheduleWithFixedDelay(this::fetch, refreshIntervalMs, refreshIntervalMs, TimeUnit.MILLISECONDS);
        }
        if (!files.isEmpty()) executor.scheduleWithFixedDelay(this::checkFiles, FILE_CHECK_MS, FILE_CHECK_MS, TimeUnit.MILLISECONDS);
    }

    /** The keys in force now. */
    public PublicKeys current() {
        return current;
    }

    /**
     * A token names a key we do not have: refresh every source now, unless that was done less than
     * {@code jwksMinRefreshIntervalMs} ago. Completes (never exceptionally) when the refresh is
     * done, or at once if it is rate-limited.
     */
    public CompletableFuture<Void> refreshForUnknownKey() {
        synchronized (refreshLock) {
            if (onDemand != null) return onDemand;
            long now = System.nanoTime();
            if (now - lastOnDemandNanos < minRefreshNanos) return CompletableFuture.completedFuture(null);
            lastOnDemandNanos = now;
            CompletableFuture<Void> f = CompletableFuture.runAsync(this::checkFiles, executor)
                    .thenCompose(v -> url == null ? CompletableFuture.<Void>completedFuture(null) : fetch())
                    .exceptionally(e -> null);
            onDemand = f;
            f.whenComplete((v, e) -> {
                synchronized (refreshLock) {
                    onDemand = null;
                }
            });
            return f;
        }
    }

    /** Re-reads the files whose content changed. Refresh thread only. */
    private void checkFiles() {
        boolean changed = false;
        for (FileSource f : files) {
            byte[] now;
            try {
                now = Files.readAllBytes(f.path);
            } catch (IOException e) {
                if (f.content != null) {
                    LOG.warning(f.kind + " " + f.path + " cannot be read (" + e + "); keeping its keys");
                    metrics.jwtKeysRefresh("file", "failed");
                }
                f.content = null;
                continue;
            }
            if (Arrays.equals(now, f.content)) continue;
            f.content = now;
            try {
                f.keys = f.parser.apply(new String(now, StandardCharsets.UTF_8));
                changed = true;
                metrics.jwtKeysRefresh("file", "ok");
                LOG.info(f.kind + " " + f.path + " reloaded: " + f.keys.size() + " key(s)");
            } catch (RuntimeException e) {
                LOG.log(Level.SEVERE, f.kind + " " + f.path + " changed but is unusable; keeping its previous keys: " + e.getMessage());
                metrics.jwtKeysRefresh("file", "failed");
            }
        }
        if (changed) publish();
    }

    /** Fetches the JWKS URL (one fetch at a time). Never completes exceptionally. */
    private CompletableFuture<Void> fetch() {
        synchronized (refreshLock) {
            if (fetching != null) return fetching;
            HttpRequest request = HttpRequest.newBuilder(url).timeout(timeout).header("Accept", "application/json").GET().build();
            CompletableFuture<Void> f = http.sendAsync(request, HttpResponse.BodyHandlers.ofString())
                    .orTimeout(timeout.toMillis() + 500, TimeUnit.MILLISECONDS)
                    .thenAccept(this::fetched)
                    .exceptionally(e -> {
                        LOG.warning("jwksUrl " + url + ": fetch failed (" + e + "); keeping the previous keys");
                        metrics.jwtKeysRefresh("url", "failed");
                        return null;
                    });
            fetching = f;
            f.whenComplete((v, e) -> {
                synchronized (refreshLock) {
                    fetching = null;
                }
            });
            return f;
        }
    }

    private void fetched(HttpResponse<String> response) {
        if (response.statusCode() != 200) {
            LOG.warning("jwksUrl " + url + " answered HTTP " + response.statusCode() + "; keeping the previous keys");
            metrics.jwtKeysRefresh("url", "failed");
            return;
        }
        try {
            PublicKeys keys = PublicKeys.fromJwks(response.body());
            urlKeys = keys;
            metrics.jwtKeysRefresh("url", "ok");
            publish();
        } catch (IllegalArgumentException e) {
            LOG.warning("jwksUrl " + url + ": " + e.getMessage() + "; keeping the previous keys");
            metrics.jwtKeysRefresh("url", "failed");
        }
    }

    /** Recomputes {@link #current} from the sources. */
    private synchronized void publish() {
        PublicKeys all = urlKeys;
        for (FileSource f : files) all = f.keys.plus(all);
        current = all;
    }

    @Override
    public void close() {
        executor.shutdownNow();
    }
}
