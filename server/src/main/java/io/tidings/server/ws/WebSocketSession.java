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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

/**
 * A {@link Session} over an Undertow WebSocket: sends frames with completion accounting, receives
 * whole text messages, closes with a code and then, if the peer does not finish the close
 * handshake, drops the connection. Protocol adapters add encoding and commands.
 *
 * <p>Thread safety: sends go through the session lock and are written on the channel's I/O thread
 * in order, through its {@link IoThreadOutbox} (the close frame too, so it follows the frames queued
 * before it); inbound messages arrive on the channel's I/O thread one at a time.
 */
public abstract class WebSocketSession extends Session {
    private static final long FORCE_CLOSE_SECONDS = 3;

    protected final WebSocketChannel channel;
    private final IoThreadOutbox outbox;
    private final int maxInboundBytes;
    private final long idleTimeoutNanos;
    private final long pingIntervalNanos;
    private volatile long lastInboundNanos = System.nanoTime();
    private volatile long lastPingNanos = System.nanoTime();
    private volatile boolean closing;

    protected WebSocketSession(WebSocketChannel channel, WebSocketSettings settings) {
        this.channel = channel;
        this.outbox = IoThreadOutbox.of(channel.getIoThread());
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
        outbox.execute(() -> write(frame));
    }

    /** On the I/O thread: hands {@code frame} to Undertow, which writes it without another hand-off. */
    private void write(byte[] frame) {
        int n = frame.length;
        WebSockets.sendText(ByteBuffer.wrap(frame), channel, new WebSocketCallback<Void>() {
            @Override
            public void complete(WebSocketChannel ch, Void context) {
                sent(n);
            }

            @Override
            public void onError(WebSocketChannel ch, Void context, Throwable throwable) {
                sent(n);
                IoUtils.safeClose(ch);
            }
        });
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
        outbox.execute(() -> WebSockets.sendClose(closeCode(reason.kind()), message, channel, new WebSocketCallback<Void>() {
            @Override
            public void complete(WebSocketChannel ch, Void context) {
                scheduleForceClose();
            }

            @Override
            public void onError(WebSocketChannel ch, Void context, Throwable throwable) {
                IoUtils.safeClose(ch);
            }
        }));
        scheduleForceClose();
    }

    private void scheduleForceClose() {
        channel.getIoThread().executeAfter(() -> IoUtils.safeClose(channel), FORCE_CLOSE_SECONDS, TimeUnit.SECONDS);
    }

    public final boolean isClosing() {
        return closing;
    }
}
