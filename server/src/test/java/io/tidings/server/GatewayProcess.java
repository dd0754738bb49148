package io.tidings.server;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code tidings serve} as a real child process, started once on a port it picks itself, with the
 * test credentials (and any other setting) in {@code TIDINGS_*} environment variables; everything it
 * prints is collected, for tests of its output and of SIGTERM. ({@link ChildGateway}, which builds the
 * command, is the one to kill and restart on a fixed port.)
 *
 * <p>Thread safety: its output is collected by a reader thread; the rest is for the test thread.
 */
public final class GatewayProcess implements AutoCloseable {
    private static final Pattern LISTENING = Pattern.compile("tidings: listening on http://localhost:(\\d+)");

    private final Process process;
    private final BlockingQueue<String> output = new LinkedBlockingQueue<>();
    private final List<String> seen = new ArrayList<>();
    private final Thread reader;
    private final int port;

    /** Starts it with data in {@code dataDir} and {@code settings} (field name → value, as in TIDINGS_* variables); waits until it listens. */
    public GatewayProcess(Path dataDir, Map<String, String> settings) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(ChildGateway.command("serve", "--port", "0", "--host", "127.0.0.1",
                "--data-dir", dataDir.toString())).redirectErrorStream(true);
        ChildGateway.credentials(pb.environment());
        settings.forEach((k, v) -> pb.environment().put(GatewayConfig.envName(k), v));
        process = pb.start();
        reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line = r.readLine(); line != null; line = r.readLine()) output.add(line);
            } catch (IOException ignored) {
                // process ended
            }
        }, "gateway-process-output");
        reader.setDaemon(true);
        reader.start();
        int p = -1;
        while (p < 0) {
            String line = output.poll(60, TimeUnit.SECONDS);
            if (line == null) {
                process.destroyForcibly();
                throw new AssertionError("server did not start; output: " + seen + ", alive " + process.isAlive());
            }
            seen.add(line);
            Matcher m = LISTENING.matcher(line);
            if (m.find()) p = Integer.parseInt(m.group(1));
        }
        port = p;
    }

    public int port() {
        return port;
    }

    public long pid() {
        return process.pid();
    }

    public Process process() {
        return process;
    }

    /** Every line printed so far. */
    public List<String> output() {
        output.drainTo(seen);
        return List.copyOf(seen);
    }

    /** Sends SIGTERM. (Process.destroy() would also close our ends of its pipes, losing what it prints while stopping.) */
    public boolean sigterm() {
        return process.toHandle().destroy();
    }

    /** Waits for the process to exit and for its output to be read; false if it is still running after {@code seconds}. */
    public boolean awaitExit(long seconds) throws InterruptedException {
        if (!process.waitFor(seconds, TimeUnit.SECONDS)) return false;
        reader.join(5000);
        return true;
    }

    @Override
    public void close() {
        process.destroyForcibly();
    }
}
