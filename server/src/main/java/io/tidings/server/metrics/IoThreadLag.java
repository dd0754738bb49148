package io.tidings.server.metrics;

import io.micrometer.core.instrument.Timer;
import java.util.concurrent.TimeUnit;
import org.xnio.XnioIoThread;
import org.xnio.XnioWorker;

/**
 * How long the I/O threads are held up: every {@value #INTERVAL_MS} ms each I/O thread of the
 * server's worker gets a timer task, and how late it runs (from when it was due) is recorded in
 * {@code tidings_io_thread_lag_seconds}. A handler that holds an I/O thread (a disk wait, a log
 * reader's set-up, a long loop) delays every connection of that thread by as much: this is that
 * delay, as the connections see it. The timer's own granularity (about a millisecond) is its floor.
 *
 * <p>Thread-safety: each probe runs on its own I/O thread; the timer is thread-safe; {@link #close}
 * from any thread.
 */
public final class IoThreadLag implements AutoCloseable {
    static final long INTERVAL_MS = 20;

    private final Timer lag;
    private volatile boolean closed;

    private IoThreadLag(Timer lag) {
        this.lag = lag;
    }

    /** Starts probing every I/O thread of {@code worker}. */
    public static IoThreadLag start(XnioWorker worker, Metrics metrics) {
        IoThreadLag probe = new IoThreadLag(metrics.ioThreadLag());
        for (int i = 0; i < worker.getIoThreadCount(); i++) probe.schedule(worker.getIoThread(i));
        return probe;
    }

    private void schedule(XnioIoThread thread) {
        long due = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(INTERVAL_MS);
        thread.executeAfter(() -> {
            lag.record(Math.max(0, System.nanoTime() - due), TimeUnit.NANOSECONDS);
            if (!closed) schedule(thread);
        }, INTERVAL_MS, TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
        closed = true;
    }
}
