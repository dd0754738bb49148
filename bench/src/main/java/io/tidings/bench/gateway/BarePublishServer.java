package io.tidings.bench.gateway;

import io.undertow.Undertow;
import io.undertow.util.Headers;
import io.undertow.util.Methods;
import net.openhft.chronicle.queue.ChronicleQueue;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;
import net.openhft.chronicle.wire.DocumentContext;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The ceiling for single-event publishes (ops/load/bench.sh publish-wrk): an Undertow handler that
 * appends each {@code POST /v1/events} body, as it came, to a raw Chronicle queue and answers
 * {@code {"offset":"0-<index>"}} once the append returned — the same durability as the gateway's
 * default ({@code process_crash}: written to the memory-mapped file, no msync). No auth, no
 * validation, no fan-out. The body is read on the I/O thread and appended there by that thread's
 * appender (Chronicle's write lock orders concurrent appends).
 *
 * <p>{@code java -cp bench/target/benchmarks.jar io.tidings.bench.gateway.BarePublishServer [port [dir]]}
 * prints {@code bare-publish: listening on http://127.0.0.1:<port>}.
 *
 * <p>Thread safety: each I/O thread appends through its own appender; the queue's write lock
 * serialises them.
 */
public final class BarePublishServer {
    public static void main(String[] args) throws Exception {
        int port = args.length > 0 ? Integer.parseInt(args[0]) : 0;
        Path dir = args.length > 1 ? Path.of(args[1]) : Files.createTempDirectory("bare-publish");
        ChronicleQueue queue = SingleChronicleQueueBuilder.binary(dir).build();
        ThreadLocal<ExcerptAppender> appenders = ThreadLocal.withInitial(queue::createAppender);
        Undertow server = Undertow.builder()
                .addHttpListener(port, "127.0.0.1")
                .setHandler(exchange -> {
                    if (!exchange.getRequestMethod().equals(Methods.POST)) {
                        exchange.setStatusCode(405).endExchange();
                        return;
                    }
                    exchange.getRequestReceiver().receiveFullBytes((ex, body) -> {
                        long index;
                        ExcerptAppender appender = appenders.get(); // this I/O thread's own
                        try (DocumentContext dc = appender.writingDocument()) {
                            dc.wire().bytes().write(body);
                            index = dc.index();
                        }
                        ex.getResponseHeaders().put(Headers.CONTENT_TYPE, "application/json");
                        ex.getResponseSender().send("{\"offset\":\"0-" + index + "\",\"duplicate\":false}");
                    });
                })
                .build();
        server.start();
        int bound = ((InetSocketAddress) server.getListenerInfo().get(0).getAddress()).getPort();
        System.out.println("bare-publish: listening on http://127.0.0.1:" + bound);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.stop();
            queue.close();
        }));
    }
}
