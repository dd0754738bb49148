package io.tidings.server.ws;

import org.xnio.XnioIoThread;

import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.IntSupplier;

/**
 * The sends of every streaming connection (WebSocket, SSE) served by one I/O thread, run on that thread in batches. Undertow
 * hands a frame written from another thread (the dispatcher, a catch-up worker) to the connection's
 * I/O thread as one task with a selector wake-up per frame; a fan-out of one event to thousands of
 * sockets was mostly that hand-off (docs/benchmarks.md, "Where the time goes"). Here the
 * dispatcher only queues, and one task per burst sends everything queued for the thread, where
 * Undertow writes without a hand-off. A connection keeps its own frames in order (its flush is
 * the one task that sends them, its close frame last).
 *
 * <p>A queued task is a connection's flush (see {@link WebSocketSession}); it answers how many
 * messages it wrote, and one drain writes at most {@link #MESSAGES_PER_DRAIN} before the thread
 * selects again (counting tasks was not enough once a task could write many messages: a catch-up
 * burst kept the thread from accepting connections for seconds).
 *
 * <p>Thread safety: {@link #execute} from any thread; the queued tasks run on the I/O thread, one
 * at a time, in order.
 */
public final class IoThreadOutbox {
    static final int MESSAGES_PER_DRAIN = 4096;
    private static final Map<XnioIoThread, IoThreadOutbox> BY_THREAD = Collections.synchronizedMap(new WeakHashMap<>());

    private final XnioIoThread thread;
    private final ConcurrentLinkedQueue<IntSupplier> queue = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean scheduled = new AtomicBoolean();

    private IoThreadOutbox(XnioIoThread thread) {
        this.thread = thread;
    }

    /** The outbox of {@code thread} (one per I/O thread, made on first use). */
    public static IoThreadOutbox of(XnioIoThread thread) {
        return BY_THREAD.computeIfAbsent(thread, IoThreadOutbox::new);
    }

    /** Runs {@code send} on the I/O thread after every task queued before it; it returns the messages it wrote. */
    public void execute(IntSupplier send) {
        queue.add(send);
        if (scheduled.compareAndSet(false, true)) schedule(0);
    }

    /**
     * Stays scheduled while it runs, so the threads that queue sends never schedule a second drain
     * meanwhile: XNIO runs its task queue until it is empty before it selects, and a drain
     * rescheduled at once by every new send would keep the thread from its sockets for as long as
     * events flow. A drain that leaves sends behind runs again after the thread has selected.
     */
    private void drain() {
        IntSupplier send;
        for (int n = 0; n < MESSAGES_PER_DRAIN && (send = queue.poll()) != null; ) {
            try {
                n += Math.max(1, send.getAsInt());
            } catch (RuntimeException e) {
                // one connection's failure must not strand the sends of the others
                Thread t = Thread.currentThread();
                t.getUncaughtExceptionHandler().uncaughtException(t, e);
            }
        }
        if (!queue.isEmpty()) {
            schedule(1);
            return;
        }
        scheduled.set(false);
        if (!queue.isEmpty() && scheduled.compareAndSet(false, true)) schedule(1); // queued just before the flag fell
    }

    private void schedule(long afterMillis) {
        try {
            if (afterMillis == 0) thread.execute(this::drain);
            else thread.executeAfter(this::drain, afterMillis, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            // the I/O thread is stopping with the server: its connections are closing, nothing to send
        }
    }
}
