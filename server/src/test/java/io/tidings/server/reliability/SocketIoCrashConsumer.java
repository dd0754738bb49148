package io.tidings.server.reliability;

import com.fasterxml.jackson.databind.JsonNode;
import io.tidings.server.TestGateway;
import io.tidings.server.ws.socketio.SocketIoDriver;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A Socket.IO client (the real socket.io-client, through {@link SocketIoDriver}) reconnecting by
 * itself after each kill. A recovered session gets what it missed from the gateway; a fresh one
 * ({@code recovered=false}: the session's offsets are of an epoch a repair ended) rejoins its rooms
 * and reloads them from audit replay; the events the new session delivers that the reload already
 * holds (committed between the join and the replay) are dropped once. Socket.IO joins have no
 * history, so the first join happens before the producers start.
 */
final class SocketIoCrashConsumer extends CrashConsumer {
    final AtomicInteger recovered = new AtomicInteger();

    SocketIoCrashConsumer(String name, List<String> rooms, Run crash) {
        super(name, rooms, crash);
    }

    @Override
    void run() {
        try (SocketIoDriver d = new SocketIoDriver(crash.gateway().url(""))) {
            d.connected(name, TestGateway.token(name, rooms.toArray(String[]::new)));
            for (String room : rooms) d.join(name, joinArgument(room));
            int seen = d.all().size(); // the first connect and the joins (no events yet: the producers start after `joined`)
            joined.countDown();
            Map<String, Set<String>> reloaded = new HashMap<>();
            Set<String> rejoinAcks = new HashSet<>(); // joins of a fresh session not yet acknowledged
            boolean rejoin = false;
            int rejoins = 0;
            while (!crash.stop().get() || !caughtUp()) {
                List<JsonNode> lines = d.all();
                for (int i = seen; i < lines.size(); i++) {
                    JsonNode l = lines.get(i);
                    if (SocketIoDriver.is(l, "connect", name)) {
                        history.add("connect " + l.get("sid").asText() + " recovered=" + l.get("recovered").asBoolean()
                                + " (view sizes " + rooms.stream().map(r -> view(r).size()).toList() + ")");
                        if (l.get("recovered").asBoolean() && !rejoin) {
                            recovered.incrementAndGet();
                            continue;
                        }
                        rejoin = true; // until every join of this connection is acknowledged; a kill meanwhile starts over
                        rejoinAcks.clear();
                        rejoins++;
                        for (String room : rooms) {
                            String tag = "rejoin-" + rejoins + "-" + room;
                            rejoinAcks.add(tag);
                            d.emit(name, tag, true, "join", joinArgument(room));
                        }
                    } else if (SocketIoDriver.is(l, "ack", name) && rejoinAcks.remove(l.path("tag").asText()) && rejoinAcks.isEmpty()) {
                        try {
                            for (String room : rooms) {
                                Set<String> ids = new HashSet<>();
                                for (JsonNode e : reload(room)) ids.add(e.at("/data/id").asText());
                                reloaded.put(room, ids);
                            }
                            rejoin = false;
                        } catch (RuntimeException | AssertionError e) {
                            history.add("reload failed: " + e.toString().lines().findFirst().orElse("")); // again at the next connect
                        }
                    } else if (SocketIoDriver.is(l, "event", name)) {
                        String[] parts = l.get("name").asText().split("::"); // crash::r0::t
                        String room = parts[0] + "/" + parts[1];
                        String id = l.get("args").get(0).get("id").asText();
                        if (reloaded.containsKey(room) && reloaded.get(room).remove(id)) {
                            crash.supersededFrames().incrementAndGet();
                            continue;
                        }
                        views.get(room).add(id);
                    }
                }
                seen = lines.size();
                CrashConsumer.pause(100);
            }
        }
    }

    private static String joinArgument(String room) {
        String[] parts = room.split("/");
        return "{\"account\":\"" + parts[0] + "\",\"model\":\"" + parts[1] + "\"}";
    }
}
