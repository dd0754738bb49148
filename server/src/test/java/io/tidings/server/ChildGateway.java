package io.tidings.server;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code tidings serve} in a child JVM (this JVM's module flags, -D properties and test classpath),
 * with {@link TestGateway}'s credentials in the environment, so a test can kill it with SIGKILL and
 * start it again on the same port and data directory. Output goes to {@code gateway.out} in the data
 * directory (appended across restarts). Not thread-safe: one test thread.
 */
public final class ChildGateway implements AutoCloseable {
    private final Path dataDir;
    private final int port;
    private final Map<String, String> env;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private Process process;

    /** @param env extra environment (e.g. {@code TIDINGS_MIN_FREE_BYTES}); {@code TIDINGS_MIN_FREE_BYTES=0} unless given */
    public ChildGateway(Path dataDir, int port, Map<String, String> env) {
        this.dataDir = dataDir;
        this.port = port;
        this.env = env;
    }

    /** {@code java <flags of this JVM> -cp <test classpath> TidingsCli <args>}. */
    public static List<String> command(String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (arg.startsWith("--add-opens") || arg.startsWith("--add-exports") || arg.startsWith("--enable-native-access")
                    || arg.startsWith("--sun-misc-unsafe-memory-access") || arg.startsWith("-D")) {
                cmd.add(arg);
            }
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "io.tidings.server.cli.TidingsCli"));
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** The environment every child gateway gets: the test credentials. */
    public static void credentials(Map<String, String> env) {
        env.put(GatewayConfig.envName("jwtSecret"), TestGateway.SECRET);
        env.put(GatewayConfig.envName("publishKeys"), TestGateway.PUBLISH_KEY);
        env.put(GatewayConfig.envName("auditKeys"), TestGateway.AUDIT_KEY);
        env.put(GatewayConfig.envName("minFreeBytes"), "0");
    }

    /** A port below the ephemeral range, free now (see FreePorts): a restart on it finds it free. */
    public static int freePort() {
        return io.tidings.kafka.testkit.FreePorts.pick();
    }

    /** Starts the process and waits until /readyz answers 200. */
    public void start() throws InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(command("serve", "--data-dir", dataDir.toString(), "--port", String.valueOf(port),
                "--host", "127.0.0.1")).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(output().toFile()));
        credentials(pb.environment());
        pb.environment().putAll(env);
        try {
            Files.createDirectories(dataDir);
            process = pb.start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (true) {
            try {
                if (http.send(HttpRequest.newBuilder(URI.create(url("/readyz"))).build(), HttpResponse.BodyHandlers.ofString()).statusCode() == 200) return;
            } catch (ConnectException e) {
                // not listening yet
            } catch (IOException e) {
                // starting
            }
            if (!process.isAlive()) throw new AssertionError("gateway exited with " + process.exitValue() + ": see " + output());
            if (System.nanoTime() > deadline) throw new AssertionError("gateway not ready within 60 s: see " + output());
            Thread.sleep(50);
        }
    }

    /** SIGKILL, and waits for the process to be gone. */
    public void kill() throws InterruptedException {
        process.toHandle().destroyForcibly();
        process.waitFor();
    }

    public boolean isAlive() {
        return process != null && process.isAlive();
    }

    public int port() {
        return port;
    }

    public String url(String path) {
        return "http://127.0.0.1:" + port + path;
    }

    public Path output() {
        return dataDir.resolve("gateway.out");
    }

    @Override
    public void close() {
        if (process != null) process.toHandle().destroyForcibly();
    }
}
