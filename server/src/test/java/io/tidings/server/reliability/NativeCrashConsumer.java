package io.tidings.server.reliability;

import com.fasterxml.jackson.databind.JsonNode;
import io.tidings.server.TestGateway;
import io.tidings.server.WsTestClient;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/** A native client that follows the protocol's resume rule, and reloads a room from audit replay after a gap. */
final class NativeCrashConsumer extends CrashConsumer {
    final Map<String, String> positions = new ConcurrentHashMap<>();

    NativeCrashConsumer(String name, List<String> rooms, Run crash) {
        super(name, rooms, crash);
    }

    @Override
    void run() {
        String token = TestGateway.token(name, rooms.toArray(String[]::new));
        while (!crash.stop().get() || !caughtUp()) {
            try (WsTestClient c = WsTestClient.connect(crash.gateway().port(), token)) {
                JsonNode welcome = c.next();
                for (String room : rooms) {
                    positions.putIfAbsent(room, welcome.get("offset").asText());
                    c.join(room, positions.get(room));
                }
                int live = 0;
                Set<String> rejoining = new HashSet<>(); // a rejoin replaces the subscription: drop the old one's frames until `joined`
                while (!c.isClosed() || c.pending() > 0) {
                    JsonNode f = c.poll(200);
                    if (f == null) {
                        if (crash.stop().get() && caughtUp()) return;
                        continue;
                    }
                    String op = f.path("op").asText();
                    if (op.equals("live") && ++live == rooms.size()) joined.countDown();
                    if (op.equals("joined")) rejoining.remove(f.get("room").asText());
                    if (op.equals("event")) {
                        String room = f.get("rooms").get(0).asText();
                        if (rejoining.contains(room)) {
                            crash.supersededFrames().incrementAndGet();
                            continue;
                        }
                        views.get(room).add(f.at("/data/id").asText());
                        positions.put(room, f.get("offset").asText());
                    } else if (op.equals("gap")) {
                        String room = f.get("room").asText();
                        List<JsonNode> all = reload(room);
                        rejoining.add(room);
                        if (all.isEmpty()) {
                            positions.remove(room);
                            c.join(room);
                        } else {
                            positions.put(room, all.get(all.size() - 1).get("offset").asText());
                            c.join(room, positions.get(room));
                        }
                    }
                }
            } catch (RuntimeException | AssertionError e) {
                // the gateway is down: try again
            }
            CrashConsumer.pause(100);
        }
    }
}
