package io.tidings.server.ws;

import io.tidings.server.hub.CloseReason;
import io.tidings.server.hub.Session;
import io.undertow.websockets.core.AbstractReceiveListener;
import io.undertow.websockets.core.BufferedBinaryMessage;
import io.undertow.websockets.core.BufferedTextMessage;
import io.undertow.websockets.core.WebSocketCallback;
import io.undertow.websockets.core.WebSocketChannel;
import io.undertow.websockets.core.WebSockets;
import org.xnio.IoUtils;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiConsumer;

/**
 * A {@link Session} over an Undertow WebSocket: sends frames with completion accounting, receives
 * whole text messages, closes with a code and then, if the peer does not finish the close
 * handshake, drops the connection. Protocol adapters add encoding and commands.
 *
 * <h2>Sending</h2>
 * Frames queue in {@code unsent}. A flush, run on the channel's I/O thread through its
 * {@link IoThreadOutbox} (one task per burst, not per frame), hands what is queued to Undertow, up to
 * {@link #FLUSH_MESSAGES} messages or {@link #FLUSH_BYTES}, and writes them to the socket in one
 * gathering write (a backlog of small frames costs one system call per run, not one per message);
 * the next run starts only once every message of the previous one is written. A write the socket
 * accepts completes at once, so a client that keeps up gets each frame as soon as it is queued;
 * while a write waits for the client, later frames wait in {@code unsent}. A protocol that allows it
 * (the native protocol with {@code ?batch=1}) then gets the frames waiting at that moment joined by
 * {@code '\n'} into one WebSocket message of at most {@link #BATCH_BYTES}; others get one message
 * per frame. So batches grow with the backlog — with a busy I/O thread or a slow client — and cost
 * nothing in latency otherwise (smart batching).
 *
 * <p>Thread safety: sends go through the session lock and are written on the channel's I/O thread
 * in order by the flush, the only consumer of {@code unsent}, which also sends the close frame after
 * every frame queued before the close. Inbound messages arrive on the channel's I/O thread one at a
 * time.
 */
public abstract class WebSocketSession extends Session {
    private static final long FORCE_CLOSE_SECONDS = 3;
    /** The largest batched message (a single frame larger than this is sent alone). */
    static final int BATCH_BYTES = 64 * 1024;
    /** What one flush hands to Undertow before it lets the I/O thread serve other connections. */
    private static final int FLUSH_MESSAGES = 64, FLUSH_BYTES = 256 * 1024;

    protected final WebSocketChannel channel;
    private final IoThreadOutbox outbox;
    private final boolean batched;
    private final ConcurrentLinkedQueue<byte[]> unsent = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean flushQueued = new AtomicBoolean();
    private final AtomicInteger inFlight = new AtomicInteger(); // messages handed to Undertow, not yet written
    private volatile boolean broken; // a write failed: the connection is gone, later frames are dropped unsent
    private final List<byte[]> batch = new ArrayList<>(); // the flush's scratch: I/O thread only
    private final AtomicReference<Runnable> closeFrame = new AtomicReference<>(); // sent once unsent is empty
    private final int maxInboundBytes;
    private final long idleTimeoutNanos;
    private final long pingIntervalNanos;
    private volatile long lastInboundNanos = System.nanoTime();
    private volatile long lastPingNanos = System.nanoTime();
    private volatile boolean closing;

    protected WebSocketSession(WebSocketChannel channel, WebSocketSettings settings) {
        this(channel, settings, false);
    }

    /** {@code batched}: the client accepts several frames per message, separated by {@code '\n'}. */
    protected WebSocketSession(WebSocketChannel channel, WebSocketSettings settings, boolean batched) {
        this.channel = channel;
        this.outbox = IoThreadOutbox.of(channel.getIoThread());
        this.batched = batched;
        this.maxInboundBytes = settings.maxInboundFrameBytes();
        this.idleTimeoutNanos = settings.idleTimeoutMs() * 1_000_000L;
        this.pingIntervalNanos = settings.pingIntervalMs() * 1_000_000L;
    }

    /** Starts receiving; call after the first frame (welcome) has been sent. */
    protected final void startReceiving() {
        channel.addCloseTask(ch -> hub().removeClosed(this)); // runs under the channel's lock: must not block on ours
        channel.getReceiveSetter().set(new AbstractReceiveListener() {
            @Override
            protected void onFullTextMessage(WebSocketChannel ch, BufferedTextMessage message) {
                lastInboundNanos = System.nanoTime();
                receive(message.getData());
            }

            @Override
            protected void onFullBinaryMessage(WebSocketChannel ch, BufferedBinaryMessage message) {
                lastInboundNanos = System.nanoTime();
                message.getData().free();
                receiveBinary();
            }

            @Override
            protected void onFullPongMessage(WebSocketChannel ch, BufferedBinaryMessage message) {
                lastInboundNanos = System.nanoTime();
                message.getData().free();
            }

            @Override
            protected void onFullPingMessage(WebSocketChannel ch, BufferedBinaryMessage message) throws IOException {
                lastInboundNanos = System.nanoTime();
                super.onFullPingMessage(ch, message);
            }

            @Override
            protected long getMaxTextBufferSize() {
                return maxInboundBytes;
            }

            @Override
            protected long getMaxBinaryBufferSize() {
                return maxInboundBytes;
            }

            @Override
            protected void onError(WebSocketChannel ch, Throwable error) {
                close(new CloseReason(CloseReason.Kind.PROTOCOL_ERROR, "frame too large or malformed"));
            }
        });
        channel.resumeReceives();
    }

    /** A whole text message from the client. */
    protected abstract void receive(String text);

    /** A binary message: unsupported unless a protocol says otherwise. */
    protected void receiveBinary() {
        close(new CloseReason(CloseReason.Kind.PROTOCOL_ERROR, "binary frames are not supported"));
    }

    /** The WebSocket close code for a reason. */
    protected abstract int closeCode(CloseReason.Kind kind);

    /** Sends the protocol's heartbeat; the default is a WebSocket ping. */
    protected void heartbeat() {
        WebSockets.sendPing(ByteBuffer.allocate(0), channel, null);
    }

    @Override
    public final String remoteAddress() {
        return String.valueOf(channel.getSourceAddress());
    }

    @Override
    protected void tick(long nowNanos) {
        if (nowNanos - lastInboundNanos > idleTimeoutNanos) {
            close(new CloseReason(CloseReason.Kind.IDLE, "idle timeout: no frame received"));
        } else if (nowNanos - lastPingNanos >= pingIntervalNanos) {
            lastPingNanos = nowNanos;
            heartbeat();
        }
    }

    @Override
    protected final void transmit(byte[] frame) {
        unsent.add(frame);
        if (inFlight.get() == 0) queueFlush(); // else the last write in progress queues the flush when it completes
    }

    /**
     * On the I/O thread: hands the queued frames to Undertow, which writes them without another
     * hand-off, then the close frame if the session is closing. Up to {@link #FLUSH_MESSAGES} or
     * {@link #FLUSH_BYTES} per run, then it queues itself behind the other connections of the
     * thread. Returns the messages written.
     */
    private int flush() {
        flushQueued.set(false); // a frame queued from now on queues another flush (which may find it gone)
        // Closing: nothing more will be queued, so Undertow gets everything and the close frame behind it
        // now; a client that reads again finds the close after its frames, even past the write in flight.
        int messages = 0;
        long bytes = 0;
        byte[] frame;
        if (inFlight.get() > 0 && !closing) return 0; // the last write in progress queues the next flush
        // Every message of this run goes to the socket in one gathering write: Undertow queues frames
        // without writing while an explicit flush is required, then writes them all in channel.flush().
        // Confined to this I/O thread; a frame another thread queues meanwhile goes out in the same flush.
        channel.setRequireExplicitFlush(true);
        try {
            while ((closing || (messages < FLUSH_MESSAGES && bytes < FLUSH_BYTES)) && (frame = unsent.poll()) != null) {
                if (broken) {
                    sent(frame.length); // as a failed write would, without the cost of failing each one
                    continue;
                }
                bytes += batched ? writeBatch(frame) : write(frame, frame.length);
                messages++;
            }
        } finally {
            channel.setRequireExplicitFlush(false);
            channel.flush(); // the writes complete in here when the socket takes them all, later otherwise
        }
        if (!unsent.isEmpty()) {
            // a write still in progress queues the next flush when it completes; otherwise the budget ran out
            if (inFlight.get() == 0) queueFlush();
            return messages;
        }
        Runnable close = closeFrame.getAndSet(null); // the session is closed: nothing is queued after it
        if (close != null) close.run();
        return messages;
    }

    private void queueFlush() {
        if (flushQueued.compareAndSet(false, true)) outbox.execute(this::flush);
    }

    /** Sends {@code first} and the frames queued behind it that fit in one message; returns its size. */
    private int writeBatch(byte[] first) {
        int size = first.length;
        byte[] next;
        while ((next = unsent.peek()) != null && size + 1 + next.length <= BATCH_BYTES) {
            batch.add(unsent.poll());
            size += 1 + next.length;
        }
        if (batch.isEmpty()) return write(first, first.length);
        byte[] message = new byte[size];
        System.arraycopy(first, 0, message, 0, first.length);
        int at = first.length;
        for (byte[] f : batch) {
            message[at++] = '\n';
            System.arraycopy(f, 0, message, at, f.length);
            at += f.length;
        }
        int separators = batch.size();
        batch.clear();
        return write(message, size - separators);
    }

    /**
     * Sends one message; {@code queued} of its bytes were counted in the session's queue. Its
     * completion runs inside this call when the socket takes it at once (the flush goes on), later
     * otherwise (then it queues the next flush rather than writing from inside Undertow's callback).
     */
    private int write(byte[] message, int queued) {
        inFlight.incrementAndGet();
        WebSockets.sendText(ByteBuffer.wrap(message), channel, new WebSocketCallback<Void>() {
            @Override
            public void complete(WebSocketChannel ch, Void context) {
                written();
            }

            @Override
            public void onError(WebSocketChannel ch, Void context, Throwable throwable) {
                broken = true;
                written();
                IoUtils.safeClose(ch);
                hub().removeClosed(WebSocketSession.this); // no more deliveries (the close task does it too, later)
            }

            private void written() {
                sent(queued);
                if (inFlight.decrementAndGet() == 0 && (!unsent.isEmpty() || closeFrame.get() != null)) queueFlush();
            }
        });
        return message.length;
    }

    /**
     * Runs {@code then} with the outcome of {@code stage}: at once if it is already complete (a
     * granted room, a JWT, a cached answer), otherwise later on this connection's I/O thread, where
     * the protocol's commands run, so adapters keep one thread for their state. Not run if the
     * connection is closing by then.
     */
    protected final <T> void whenDone(CompletableFuture<T> stage, BiConsumer<T, Throwable> then) {
        if (stage.isDone()) {
            complete(stage, then);
            return;
        }
        stage.whenComplete((v, e) -> channel.getIoThread().execute(() -> {
            if (!closing) complete(stage, then);
        }));
    }

    private static <T> void complete(CompletableFuture<T> done, BiConsumer<T, Throwable> then) {
        T value;
        try {
            value = done.join();
        } catch (RuntimeException e) {
            then.accept(null, e);
            return;
        }
        then.accept(value, null);
    }

    /** Sends text outside the event stream's ordering (rarely needed: prefer {@link #send}). */
    protected final void sendNow(String text) {
        send(text.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    protected void close(CloseReason reason) {
        if (closing) return;
        closing = true;
        hub().remove(this);
        String text = reason.message();
        String message = text.getBytes(StandardCharsets.UTF_8).length > 120 ? text.substring(0, 40) : text;
        closeFrame.set(() -> WebSockets.sendClose(closeCode(reason.kind()), message, channel, new WebSocketCallback<Void>() {
            @Override
            public void complete(WebSocketChannel ch, Void context) {
                scheduleForceClose();
            }

            @Override
            public void onError(WebSocketChannel ch, Void context, Throwable throwable) {
                IoUtils.safeClose(ch);
            }
        }));
        queueFlush(); // the close frame follows the frames queued before it
        scheduleForceClose();
    }

    private void scheduleForceClose() {
        channel.getIoThread().executeAfter(() -> IoUtils.safeClose(channel), FORCE_CLOSE_SECONDS, TimeUnit.SECONDS);
    }

    public final boolean isClosing() {
        return closing;
    }
}
