package io.tidings.bench.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.undertow.Handlers;
import io.undertow.Undertow;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;
import io.undertow.util.Methods;
import io.undertow.websockets.core.AbstractReceiveListener;
import io.undertow.websockets.core.BufferedTextMessage;
import io.undertow.websockets.core.WebSocketChannel;
import io.undertow.websockets.core.WebSockets;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The ceiling of the framework on this machine for the gateway benchmarks (ops/load/bench.sh): an
 * Undertow server that broadcasts every published event to the WebSockets of one room, with no log,
 * no authentication, no buffering limits and no resume. It speaks the subset of the native protocol
 * the load client uses, so one client code path measures both:
 * <ul>
 *   <li>{@code GET /v1/ws} (any query): {@code welcome} first; {@code {"op":"join","room":R}} →
 *       {@code joined}, {@code live}; {@code ping} → {@code pong}.</li>
 *   <li>{@code POST /v1/events}: one event object, a JSON array or NDJSON, like the gateway; each
 *       event is sent to every socket of its room as the native {@code event} frame (offset
 *       {@code 0-<n>}, a counter) on the request's I/O thread; the answer lists the offsets.</li>
 * </ul>
 *
 * <p>{@code java -cp bench/target/benchmarks.jar io.tidings.bench.gateway.BareBroadcastServer [port]}
 * prints {@code bare: listening on http://127.0.0.1:<port>} once it accepts connections.
 *
 * <p>Thread safety: room membership is a concurrent set per room, changed by the sockets' I/O
 * threads; publishes may run on any I/O thread at once and take their offsets from one atomic
 * counter (so two concurrent publishes may interleave their frames: the load publisher keeps one
 * in flight).
 */
public final class BareBroadcastServer {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final ConcurrentHashMap<String, Set<WebSocketChannel>> rooms = new ConcurrentHashMap<>();
    private final AtomicLong offsets = new AtomicLong();

    public static void main(String[] args) {
        int port = args.length > 0 ? Integer.parseInt(args[0]) : 0;
        Undertow server = new BareBroadcastServer().start(port);
        int bound = ((InetSocketAddress) server.getListenerInfo().get(0).getAddress()).getPort();
        System.out.println("bare: listening on http://127.0.0.1:" + bound);
        Runtime.getRuntime().addShutdownHook(new Thread(server::stop));
    }

    Undertow start(int port) {
        Undertow server = Undertow.builder()
                .addHttpListener(port, "127.0.0.1")
                .setHandler(Handlers.path()
                        .addPrefixPath("/v1/ws", Handlers.websocket((exchange, channel) -> open(channel)))
                        .addExactPath("/v1/events", this::publish))
                .build();
        server.start();
        return server;
    }

    private void open(WebSocketChannel channel) {
        WebSockets.sendText("{\"op\":\"welcome\",\"epoch\":\"0\",\"offset\":\"0-" + offsets.get() + "\",\"sub\":\"bare\"}", channel, null);
        channel.getReceiveSetter().set(new AbstractReceiveListener() {
            @Override
            protected void onFullTextMessage(WebSocketChannel ch, BufferedTextMessage message) throws IOException {
                JsonNode command = JSON.readTree(message.getData());
                String op = command.path("op").asText();
                if (op.equals("join")) {
                    String room = command.path("room").asText();
                    rooms.computeIfAbsent(room, r -> ConcurrentHashMap.newKeySet()).add(ch);
                    String quoted = JSON.writeValueAsString(room);
                    WebSockets.sendText("{\"op\":\"joined\",\"room\":" + quoted + "}", ch, null);
                    WebSockets.sendText("{\"op\":\"live\",\"room\":" + quoted + "}", ch, null);
                } else if (op.equals("ping")) {
                    WebSockets.sendText("{\"op\":\"pong\"}", ch, null);
                }
            }
        });
        channel.addCloseTask(ch -> rooms.values().forEach(members -> members.remove(ch)));
        channel.resumeReceives();
    }

    private void publish(HttpServerExchange exchange) {
        if (!exchange.getRequestMethod().equals(Methods.POST)) {
            exchange.setStatusCode(405).endExchange();
            return;
        }
        exchange.getRequestReceiver().receiveFullBytes((ex, body) -> {
            StringBuilder answer = new StringBuilder("{\"offsets\":[");
            try {
                int n = 0;
                for (JsonNode event : events(body)) {
                    long offset = offsets.incrementAndGet();
                    broadcast(event, offset);
                    answer.append(n++ == 0 ? "\"0-" : ",\"0-").append(offset).append('"');
                }
            } catch (IOException e) {
                ex.setStatusCode(400).endExchange();
                return;
            }
            ex.getResponseHeaders().put(Headers.CONTENT_TYPE, "application/json");
            ex.getResponseSender().send(answer.append("],\"duplicates\":[]}").toString());
        });
    }

    /** The events of a publish body: one object, an array, or NDJSON lines. */
    private static Iterable<JsonNode> events(byte[] body) throws IOException {
        var parser = JSON.getFactory().createParser(body);
        var all = new java.util.ArrayList<JsonNode>();
        for (var it = JSON.readValues(parser, JsonNode.class); it.hasNext(); ) {
            JsonNode node = it.next();
            if (node.isArray()) node.forEach(all::add);
            else all.add(node);
        }
        return all;
    }

    private void broadcast(JsonNode event, long offset) throws IOException {
        String room = event.path("room").asText();
        Set<WebSocketChannel> members = rooms.get(room);
        if (members == null || members.isEmpty()) return;
        byte[] frame = ("{\"op\":\"event\",\"room\":" + JSON.writeValueAsString(room) + ",\"rooms\":["
                + JSON.writeValueAsString(room) + "],\"type\":" + JSON.writeValueAsString(event.path("type").asText())
                + ",\"offset\":\"0-" + offset + "\",\"time\":\"" + Instant.now() + "\",\"data\":"
                + JSON.writeValueAsString(event.get("data")) + "}").getBytes(StandardCharsets.UTF_8);
        for (WebSocketChannel ch : members) WebSockets.sendText(ByteBuffer.wrap(frame), ch, null);
    }
}
