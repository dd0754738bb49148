package io.tidings.server.auth;

import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * A semaphore for asynchronous work that never blocks a thread: at most {@code max} tasks run at
 * once; more wait in a bounded queue for at most {@code maxWaitMs}, then fail with {@link Busy}
 * (as does a task arriving at a full queue). Thread-safe.
 */
final class AsyncLimiter {
    /** The limit was reached and the wait ran out (or the queue was full). */
    static final class Busy extends RuntimeException {
        Busy() {
            super("too busy", null, false, false);
        }
    }

    private final class Waiter {
        final Runnable start;
        ScheduledFuture<?> timeout;

        Waiter(Runnable start) {
            this.start = start;
        }
    }

    private final int max;
    private final long maxWaitMs;
    private final int maxQueued;
    private final ScheduledExecutorService timer;
    private final ArrayDeque<Waiter> queue = new ArrayDeque<>(); // guarded by this
    private int running;                                          // guarded by this

    AsyncLimiter(int max, long maxWaitMs, int maxQueued, ScheduledExecutorService timer) {
        if (max < 1) throw new IllegalArgumentException("at least one concurrent task");
        this.max = max;
        this.maxWaitMs = maxWaitMs;
        this.maxQueued = maxQueued;
        this.timer = timer;
    }

    /** Runs {@code task} when a slot is free; its result, or {@link Busy}. */
    <T> CompletableFuture<T> submit(Supplier<CompletableFuture<T>> task) {
        CompletableFuture<T> result = new CompletableFuture<>();
        Runnable start = () -> {
            CompletableFuture<T> f;
            try {
                f = task.get();
            } catch (RuntimeException e) {
                f = CompletableFuture.failedFuture(e);
            }
            f.whenComplete((v, e) -> {
                release();
                if (e != null) result.completeExceptionally(e);
                else result.complete(v);
            });
        };
        boolean now;
        synchronized (this) {
            if (running < max) {
                running++;
                now = true;
            } else if (queue.size() >= maxQueued || maxWaitMs <= 0) {
                return CompletableFuture.failedFuture(new Busy());
            } else {
                Waiter w = new Waiter(start);
                queue.add(w);
                w.timeout = timer.schedule(() -> expire(w, result), maxWaitMs, TimeUnit.MILLISECONDS);
                now = false;
            }
        }
        if (now) start.run();
        return result;
    }

    private void expire(Waiter w, CompletableFuture<?> result) {
        synchronized (this) {
            if (!queue.remove(w)) return; // started meanwhile
        }
        result.completeExceptionally(new Busy());
    }

    private void release() {
        Waiter next;
        synchronized (this) {
            next = queue.poll();
            if (next == null) {
                running--;
                return;
            }
            next.timeout.cancel(false);
        }
        next.start.run(); // the slot passes on to the next waiter
    }

    synchronized int running() {
        return running;
    }

    synchronized int queued() {
        return queue.size();
    }
}
