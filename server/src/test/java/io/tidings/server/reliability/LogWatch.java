package io.tidings.server.reliability;

import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Captures what an in-process gateway logs (java.util.logging, which Undertow's and XNIO's logging
 * also ends up in) at WARNING and above, and every exception that escapes a thread, so a test can
 * fail on an error or stack trace nobody expected.
 *
 * <p>Thread-safe: records arrive from the gateway's threads.
 */
final class LogWatch extends Handler implements AutoCloseable {
    private final List<String> problems = new ArrayList<>();
    private final List<String> warnings = new ArrayList<>();
    private final Thread.UncaughtExceptionHandler previous = Thread.getDefaultUncaughtExceptionHandler();

    static LogWatch install() {
        LogWatch w = new LogWatch();
        w.setLevel(Level.WARNING);
        Logger.getLogger("").addHandler(w);
        Thread.setDefaultUncaughtExceptionHandler((t, e) -> w.add(true, "uncaught in " + t.getName() + ": " + e));
        return w;
    }

    @Override
    public void publish(LogRecord r) {
        if (!isLoggable(r)) return;
        boolean problem = r.getLevel().intValue() >= Level.SEVERE.intValue() || r.getThrown() != null;
        add(problem, r.getLevel() + " " + r.getLoggerName() + ": " + r.getMessage() + (r.getThrown() == null ? "" : " — " + r.getThrown()));
    }

    private synchronized void add(boolean problem, String line) {
        (problem ? problems : warnings).add(line);
    }

    /** SEVERE records, records with a stack trace, and uncaught exceptions, in order. */
    synchronized List<String> problems() {
        return List.copyOf(problems);
    }

    /** WARNING records without a stack trace. */
    synchronized List<String> warnings() {
        return List.copyOf(warnings);
    }

    @Override
    public void flush() {}

    @Override
    public void close() {
        Logger.getLogger("").removeHandler(this);
        Thread.setDefaultUncaughtExceptionHandler(previous);
    }
}
