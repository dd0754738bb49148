package io.tidings.server.reliability;

import io.tidings.server.NodeScript;
import io.tidings.server.TestGateway;
import io.tidings.storage.Offset;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Many real {@code @anycable/web} clients on the extended, resumable ActionCable protocol in one
 * Node process (server/src/test/node/cable/many.mjs), each subscribed to {@code channel} once per
 * room, with the client's own reconnection, session restore and history requests.
 *
 * <p>The application rule this models: when the client reports {@code history_not_found} (the server
 * answered {@code reject_history}: it cannot resume that stream exactly), the application fetches
 * what it missed from the audit replay and from then on ignores repeats of that room. Counted as
 * reconciliations: explicit, never silent.
 *
 * <p>Thread safety: one reader thread handles every line of the Node process; counters and sequences
 * may be read from any thread.
 */
final class CableResumingClients implements AutoCloseable {
    private final NodeScript node;
    private final TestGateway gateway;
    private final Map<String, Client> clients = new ConcurrentHashMap<>();
    final AtomicInteger connects = new AtomicInteger();
    final AtomicInteger restored = new AtomicInteger();
    final AtomicInteger reconciliations = new AtomicInteger();
    final AtomicInteger disconnects = new AtomicInteger();
    final AtomicInteger cuts = new AtomicInteger();
    volatile String failure;

    final class Client {
        final String id;
        final List<String> rooms;
        final ReceivedSequences sequences;
        final Map<String, Boolean> subscribedRooms = new ConcurrentHashMap<>();

        Client(String id, List<String> rooms, String epoch) {
            this.id = id;
            this.rooms = rooms;
            this.sequences = new ReceivedSequences(epoch, rooms);
        }

        boolean subscribed() {
            return subscribedRooms.keySet().containsAll(rooms);
        }
    }

    /**
     * Starts the Node process; {@code cableUrl} is where the clients connect (the proxy), {@code
     * channel} maps to the room template {@code <prefix>/{room}}. The clients run with the fix of
     * cable/anycable-reset-fix.mjs.
     */
    CableResumingClients(String cableUrl, String channel, String roomPrefix, TestGateway gateway) throws InterruptedException {
        this(cableUrl, channel, roomPrefix, gateway, false);
    }

    /** {@code unfixed}: the library as published, without the fix of cable/anycable-reset-fix.mjs. */
    CableResumingClients(String cableUrl, String channel, String roomPrefix, TestGateway gateway, boolean unfixed) throws InterruptedException {
        this.node = unfixed ? NodeScript.start("cable/many.mjs", cableUrl, channel, "--unfixed")
                : NodeScript.start("cable/many.mjs", cableUrl, channel);
        this.gateway = gateway;
        this.prefix = roomPrefix + "/";
        node.awaitLine("ready", 30);
        node.forEachLine("cable-clients", this::onLine);
    }

    private final String prefix;

    /** Rooms are full room names under the channel's prefix. */
    Client add(String id, String token, List<String> rooms, String epoch) {
        Client c = new Client(id, rooms, epoch);
        clients.put(id, c);
        node.send("client " + id + " " + token + " " + String.join(",", rooms.stream().map(r -> r.substring(prefix.length())).toList()));
        return c;
    }

    List<Client> all() {
        return List.copyOf(clients.values());
    }

    /** The next subscribe client {@code id} sends (also its first, if it is not created yet) is followed at once by a cut of its socket. */
    void cutAfterNextSubscribe(String id) {
        node.send("cut " + id);
    }

    /** Diagnosis: asks the Node process for the client's state and last frames; it prints them (a {@code dump} line). */
    void dump(String id) {
        node.send("dump " + id);
    }

    private void onLine(String line) {
        if (line.startsWith("dump ")) {
            System.out.println("cable client " + line);
            return;
        }
        try {
            handle(line.split(" ", 8));
        } catch (RuntimeException | AssertionError e) {
            if (failure == null) failure = "cable line " + line + ": " + e;
        }
    }

    private void handle(String[] f) {
        Client c = f.length > 1 ? clients.get(f[1]) : null;
        if (c == null) return; // not one of the lines below (e.g. "ready")
        switch (f[0]) {
            case "connect" -> {
                connects.incrementAndGet();
                if (f[2].equals("true")) restored.incrementAndGet();
            }
            case "disconnect" -> disconnects.incrementAndGet();
            case "subscribed" -> c.subscribedRooms.put(prefix + f[2], true);
            // received <id> <room> <stream> <epoch> <offset> <data>
            case "received" -> {
                String room = prefix + f[2];
                if (!room.equals(f[3])) throw new AssertionError("stream_id " + f[3] + " for a subscription to " + room);
                c.sequences.received(room, Long.parseLong(f[5]));
            }
            case "history_not_found" -> {
                reconciliations.incrementAndGet();
                String room = prefix + f[2];
                List<Long> missed = new ArrayList<>();
                gateway.replayLines("room=" + URLEncoder.encode(room, StandardCharsets.UTF_8) + "&after=" + c.sequences.resumeOffset(room))
                        .forEach(e -> missed.add(Offset.parse(e.get("offset").asText()).index()));
                c.sequences.reconcile(room, missed);
            }
            case "rejected" -> throw new AssertionError("subscription rejected: " + String.join(" ", f));
            case "closed" -> {
                dump(f[1]); // what led to it, while it is fresh
                throw new AssertionError("the client closed its subscription (it never subscribes to it again): " + String.join(" ", f));
            }
            case "cut" -> cuts.incrementAndGet();
            default -> { }
        }
    }

    @Override
    public void close() {
        node.exit("exit");
    }
}
