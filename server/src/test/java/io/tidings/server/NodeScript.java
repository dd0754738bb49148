package io.tidings.server;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Runs a Node.js script from server/src/test/node with the real npm clients installed there
 * ({@code npm ci} in that directory; .ci/run does it). Its stdout lines are collected for the test;
 * stderr is inherited for diagnosis. Fails loudly (never skips) if node or the packages are missing.
 */
public final class NodeScript implements AutoCloseable {
    public static final Path DIR = Path.of("src/test/node").toAbsolutePath();

    private final Process process;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();

    private NodeScript(Process process) {
        this.process = process;
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line = r.readLine(); line != null; line = r.readLine()) lines.add(line);
            } catch (IOException ignored) {
                // process ended
            }
        }, "node-stdout");
        reader.setDaemon(true);
        reader.start();
    }

    public static NodeScript start(String script, String... args) {
        if (!Files.isDirectory(DIR.resolve("node_modules"))) {
            throw new IllegalStateException("npm packages missing: run 'npm ci' in " + DIR + " (.ci/run does this)");
        }
        List<String> cmd = new ArrayList<>(List.of("node", DIR.resolve(script).toString()));
        cmd.addAll(List.of(args));
        try {
            return new NodeScript(new ProcessBuilder(cmd).directory(DIR.toFile())
                    .redirectError(ProcessBuilder.Redirect.INHERIT).start());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run node (is Node.js installed?)", e);
        }
    }

    /** Writes a line to the script's stdin. */
    public void send(String line) {
        try {
            process.getOutputStream().write((line + "\n").getBytes(StandardCharsets.UTF_8));
            process.getOutputStream().flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The next stdout line, or an AssertionError after {@code seconds}. */
    public String nextLine(long seconds) throws InterruptedException {
        String line = lines.poll(seconds, TimeUnit.SECONDS);
        if (line == null) throw new AssertionError("node script printed nothing for " + seconds + " s (alive: " + process.isAlive() + ")");
        return line;
    }

    /** The next stdout line that starts with {@code prefix}, skipping others. */
    public String awaitLine(String prefix, long seconds) throws InterruptedException {
        return awaitLineOrFail(prefix, null, seconds);
    }

    /** Like {@link #awaitLine}, but a line starting with {@code failure} (if not null) fails the test with that line. */
    public String awaitLineOrFail(String prefix, String failure, long seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (true) {
            long left = deadline - System.nanoTime();
            String line = lines.poll(Math.max(left, 0), TimeUnit.NANOSECONDS);
            if (line == null) throw new AssertionError("no line starting with '" + prefix + "' within " + seconds + " s");
            if (failure != null && line.startsWith(failure)) throw new AssertionError(line);
            if (line.startsWith(prefix)) return line;
        }
    }

    /**
     * Hands every stdout line not yet taken to {@code handler}, in order, on a daemon thread named
     * {@code name} (for scripts that report a stream of things rather than answers to await).
     */
    public void forEachLine(String name, java.util.function.Consumer<String> handler) {
        Thread t = new Thread(() -> {
            try {
                while (true) handler.accept(lines.take());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, name);
        t.setDaemon(true);
        t.start();
    }

    /** Sends {@code exitCommand}, gives the script 10 s to end by itself, then kills it. */
    public void exit(String exitCommand) {
        try {
            send(exitCommand);
            waitFor(10);
        } catch (RuntimeException | InterruptedException | AssertionError ignored) {
            // best effort
        } finally {
            close();
        }
    }

    public int waitFor(long seconds) throws InterruptedException {
        if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
            close();
            throw new AssertionError("node script did not finish within " + seconds + " s");
        }
        return process.exitValue();
    }

    /**
     * Kills the script and whatever it started (a browser, its helpers): SIGKILL skips the script's
     * own exit handlers, and a browser left behind would outlive the test run.
     */
    @Override
    public void close() {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
    }
}
