package io.tidings.server.http;

import io.tidings.server.auth.ApiKeys;
import io.tidings.server.metrics.Metrics;
import io.tidings.storage.Appended;
import io.tidings.storage.EventLog;
import io.tidings.storage.LogUnavailableException;
import io.tidings.storage.NewEvent;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;
import io.undertow.util.SameThreadExecutor;
import org.xnio.IoUtils;
import org.xnio.XnioExecutor;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;

/**
 * A publishing endpoint ({@code POST /v1/events}, or the AnyCable broadcast endpoint: the body's
 * {@link PublishFormat}): validates the whole body, appends it, and answers only once every event
 * is committed. A key limited to room prefixes may only publish events
 * whose rooms all lie within them (403 and nothing appended otherwise). The body is read without
 * blocking on the I/O thread; a small body whose append does not wait for msync is parsed, appended
 * and answered there (no worker-thread hop: a single-event publish costs a fraction of the hop),
 * anything else on a worker thread. An append whose commit is a network round trip (cluster mode,
 * {@link EventLog#appendAsync}) holds no thread while it waits: the answer is sent from the
 * exchange's I/O thread when the commit completes.
 *
 * <p>Thread safety: stateless per request; the parser and the log are thread-safe.
 */
public final class PublishHandler implements HttpHandler {
    private final EventLog log;
    private final ApiAuth auth;
    private final PublishFormat format;
    private final int maxBodyBytes;
    private final long bodyReadTimeoutMs;
    private final Metrics metrics;
    private final boolean appendsOnIoThread;

    /** Bodies up to this size are parsed and appended on the I/O thread when the append does not wait for msync. */
    static final int INLINE_BODY_BYTES = 16 * 1024;

    /**
     * @param appendsOnIoThread whether an append returns without waiting on the disk (durability
     *                          {@code process_crash}): then a small body is appended on the I/O thread
     */
    public PublishHandler(EventLog log, ApiAuth auth, PublishFormat format, int maxBodyBytes,
                          long bodyReadTimeoutMs, Metrics metrics, boolean appendsOnIoThread) {
        this.appendsOnIoThread = appendsOnIoThread;
        this.bodyReadTimeoutMs = bodyReadTimeoutMs;
        this.metrics = metrics;
        this.log = log;
        this.auth = auth;
        this.format = format;
        this.maxBodyBytes = maxBodyBytes;
    }

    @Override
    public void handleRequest(HttpServerExchange exchange) {
        try {
            ApiKeys.ApiKey key = auth.require(exchange, ApiKeys.Scope.PUBLISH);
            long declared = exchange.getRequestContentLength();
            if (declared > maxBodyBytes) throw tooLarge();
            // the body is read without blocking on the I/O thread; a body still incomplete after
            // bodyReadTimeoutMs has its connection closed, so a client that never finishes holds nothing
            exchange.setMaxEntitySize(maxBodyBytes);
            BodyDeadline deadline = new BodyDeadline();
            exchange.getRequestReceiver().receiveFullBytes((ex, body) -> {
                deadline.cancel();
                // an append that does not wait for msync is answered right here (no worker-thread hop);
                // one that waits, or a large body, goes to a worker thread
                if (appendsOnIoThread && body.length <= INLINE_BODY_BYTES) publish(ex, key, body);
                else ex.dispatch(() -> publish(ex, key, body));
            }, (ex, e) -> {
                deadline.cancel();
                rejectAndClose(ex, e instanceof io.undertow.server.RequestTooBigException ? tooLarge()
                        : new ApiError(400, "bad_request", "could not read the body: " + e.getMessage()));
            });
            deadline.startUnlessDone(exchange, bodyReadTimeoutMs);
        } catch (ApiError e) {
            rejectAndClose(exchange, e);
        }
    }

    private void publish(HttpServerExchange exchange, ApiKeys.ApiKey key, byte[] body) {
        try {
            if (body.length > maxBodyBytes) throw tooLarge();
            PublishFormat.Batch batch = format.parse(body);
            List<NewEvent> events = batch.events();
            if (key.restricted()) {
                // the whole batch or nothing: one room outside the key's prefixes refuses it all
                for (NewEvent e : events) {
                    for (String room : e.rooms()) {
                        if (!key.allowsRoom(room)) {
                            metrics.apiKeyRefused(key.name(), "publish");
                            throw new ApiError(403, "forbidden", "key '" + key.name() + "' may not publish to room " + room);
                        }
                    }
                }
            }
            metrics.apiKeyUsed(key.name(), "publish");
            long start = System.nanoTime();
            CompletableFuture<List<Appended>> appending = log.appendAsync(events);
            if (appending.isDone()) {
                answer(exchange, batch, appending, start);
            } else {
                // a network commit (cluster mode): hold no thread for it; answer on the exchange's I/O thread
                exchange.dispatch(SameThreadExecutor.INSTANCE, () -> appending.whenComplete(
                        (r, e) -> exchange.getIoThread().execute(() -> answer(exchange, batch, appending, start))));
            }
        } catch (ApiError e) {
            rejectAndClose(exchange, e);
        }
    }

    private void answer(HttpServerExchange exchange, PublishFormat.Batch batch, CompletableFuture<List<Appended>> done, long start) {
        List<NewEvent> events = batch.events();
        List<Appended> appended;
        try {
            appended = done.join();
        } catch (CompletionException e) {
            metrics.appended("failed", events.size());
            rejectAndClose(exchange, e.getCause() instanceof LogUnavailableException
                    ? new ApiError(503, "log_unavailable", e.getCause().getMessage())
                    : new ApiError(500, "internal", "the append failed: " + e.getCause()));
            return;
        }
        metrics.appendTime(System.nanoTime() - start);
        long duplicates = 0, bytes = 0;
        for (int i = 0; i < appended.size(); i++) {
            if (appended.get(i).duplicate()) duplicates++;
            else bytes += recordBytes(events.get(i));
        }
        metrics.appended("committed", appended.size() - duplicates);
        if (duplicates > 0) metrics.appended("duplicate", duplicates);
        metrics.appendedBytes(bytes);
        exchange.setStatusCode(format.status());
        exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, "application/json");
        exchange.getResponseSender().send(format.answer(batch, appended));
    }

    /**
     * The body-read timeout of one request, armed only if the body did not arrive with the headers
     * (the usual small publish completes inside {@code receiveFullBytes}: no timer to set and cancel).
     * Synchronized, uncontended in practice: the handler and the receiver's callbacks run on the
     * exchange's I/O thread unless something upstream dispatched the request.
     */
    private static final class BodyDeadline {
        private boolean done;
        private XnioExecutor.Key timer;

        synchronized void cancel() {
            done = true;
            if (timer != null) timer.remove();
        }

        synchronized void startUnlessDone(HttpServerExchange exchange, long timeoutMs) {
            if (!done) timer = exchange.getIoThread().executeAfter(
                    () -> IoUtils.safeClose(exchange.getConnection()), timeoutMs, TimeUnit.MILLISECONDS);
        }
    }

    /**
     * Answers an error and closes the connection afterwards: the body may be partly unread (auth is
     * checked first, an oversized body is not read to its end), and its remaining bytes must not be
     * parsed as the next request on a kept-alive connection.
     */
    private static void rejectAndClose(HttpServerExchange exchange, ApiError e) {
        exchange.setPersistent(false);
        if (exchange.isResponseStarted()) { // the client went away mid-body: Undertow has already ended the exchange
            IoUtils.safeClose(exchange.getConnection());
            return;
        }
        e.send(exchange);
    }

    /** Approximate size of the event's log record, for the disk-growth metric (ASCII names assumed). */
    static long recordBytes(NewEvent e) {
        long n = Metrics.RECORD_OVERHEAD_BYTES + e.data().length + e.type().length();
        for (String room : e.rooms()) n += 2 + room.length();
        if (e.producerId() != null) n += e.producerId().length();
        return n;
    }

    private ApiError tooLarge() {
        return new ApiError(413, "too_large", "body larger than " + maxBodyBytes + " bytes");
    }
}
