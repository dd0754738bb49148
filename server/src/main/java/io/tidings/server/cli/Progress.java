package io.tidings.server.cli;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * One status line on stderr that long operator commands update in place ({@code \r}), e.g.
 * {@code verify: 1,234,567 / 5,000,000 events (24%)  612,000 events/s  0:02}. Shown only when
 * stderr is a terminal, so redirected or piped output never contains it; at most five updates a
 * second; the line is erased when the command finishes (its result goes to stdout).
 *
 * <p>Not thread-safe: used by the command's thread only.
 */
final class Progress implements AutoCloseable {
    static final long INTERVAL_NANOS = 200_000_000L;

    private final String what;
    private final long total;
    private final PrintStream out;
    private final LongSupplier clock;
    private final long start;
    private long lastPrint;
    private int width;

    Progress(String what, long total, PrintStream out, LongSupplier nanoClock) {
        this.what = what;
        this.total = total;
        this.out = out;
        this.clock = nanoClock;
        this.start = nanoClock.getAsLong();
        this.lastPrint = start;
    }

    /** A progress line on stderr if it is a terminal and {@code wanted}, else one that shows nothing. */
    static Progress onTerminal(String what, long total, boolean wanted) {
        return new Progress(what, total, wanted && isTerminal(2) ? System.err : null, System::nanoTime);
    }

    /**
     * Whether file descriptor {@code fd} (1 stdout, 2 stderr) is a terminal: its /proc/self/fd link
     * on Linux; elsewhere whether the JVM has a console (stdin and stdout are terminals).
     */
    static boolean isTerminal(int fd) {
        try {
            String target = Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString();
            return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty") || target.equals("/dev/console");
        } catch (Exception | Error e) {
            return System.console() != null;
        }
    }

    /** {@code done} events processed so far; redraws the line if the last update is old enough. */
    void update(long done) {
        if (out == null) return;
        long now = clock.getAsLong();
        if (now - lastPrint < INTERVAL_NANOS) return;
        lastPrint = now;
        draw(line(done, now));
    }

    String line(long done, long now) {
        double seconds = Math.max(1e-9, (now - start) / 1e9);
        StringBuilder b = new StringBuilder(what).append(": ").append(String.format(Locale.ROOT, "%,d", done));
        if (total > 0) {
            b.append(String.format(Locale.ROOT, " / %,d events (%d%%)", total, Math.min(100, done * 100 / total)));
        } else {
            b.append(" events");
        }
        b.append(String.format(Locale.ROOT, "  %,.0f events/s  %d:%02d", done / seconds, (long) seconds / 60, (long) seconds % 60));
        return b.toString();
    }

    private void draw(String line) {
        StringBuilder b = new StringBuilder("\r").append(line);
        for (int i = line.length(); i < width; i++) b.append(' ');
        width = line.length();
        out.print(b);
        out.flush();
    }

    /** Erases the line (if one was drawn). */
    @Override
    public void close() {
        if (out == null || width == 0) return;
        out.print("\r" + " ".repeat(width) + "\r");
        out.flush();
        width = 0;
    }
}
