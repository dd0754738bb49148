package io.tidings.server.reliability;

import com.fasterxml.jackson.databind.JsonNode;
import io.tidings.server.NodeScript;
import io.tidings.server.TestGateway;
import io.tidings.server.http.Json;

import java.io.IOException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An ActionCable client on the extended protocol (the real @anycable/web, through
 * {@code cable/client.mjs}), subscribed to {@code CrashChannel} rooms. After each kill it
 * reconnects and re-subscribes with its positions ({@code history}); where a repair ended their
 * epoch the gateway answers {@code reject_history} ({@code history_not_found}) and streams live,
 * and the client reloads that room from audit replay (the live events the reload already holds are
 * dropped once). Subscribed before the producers start, so it sees every event of its rooms.
 */
final class AnyCableCrashConsumer extends CrashConsumer {
    final AtomicInteger historiesServed = new AtomicInteger();
    /** How many lines of each kind the client printed (events and raw frames aside), for the report. */
    final Map<String, Integer> seenLines = new java.util.concurrent.ConcurrentSkipListMap<>();

    private static String infoType(String line) {
        Matcher m = Pattern.compile("\"type\":\"([a-z_]+)\"").matcher(line);
        return m.find() ? m.group(1) : "?";
    }

    AnyCableCrashConsumer(String name, List<String> rooms, Run crash) {
        super(name, rooms, crash);
    }

    @Override
    void run() {
        String url = crash.gateway().url("/cable").replaceFirst("^http", "ws");
        try (NodeScript c = NodeScript.start("cable/client.mjs", "anycable", url, TestGateway.token(name, rooms.toArray(String[]::new)))) {
            c.awaitLine("ready", 60);
            for (String room : rooms) c.send("subscribe {\"channel\":\"CrashChannel\",\"room\":\"" + room.substring(room.indexOf('/') + 1) + "\"}");
            Map<String, Set<String>> reloaded = new HashMap<>();
            int subscribed = 0;
            boolean reconnecting = false;
            Set<String> needsReload = new java.util.TreeSet<>(); // history refused; reloaded as soon as audit replay answers
            while (!crash.stop().get() || !caughtUp()) {
                for (String room : List.copyOf(needsReload)) {
                    try {
                        Set<String> ids = new HashSet<>();
                        for (JsonNode e : reload(room)) ids.add(e.at("/data/id").asText());
                        reloaded.put(room, ids);
                        needsReload.remove(room);
                    } catch (RuntimeException | AssertionError e) {
                        history.add("reload failed: " + e.toString().lines().findFirst().orElse("")); // the gateway is down: again
                    }
                }
                String line;
                try {
                    line = c.nextLine(1);
                } catch (AssertionError quiet) {
                    continue;
                }
                int space = line.indexOf(' ');
                String tag = space < 0 ? line : line.substring(0, space);
                if (!tag.equals("frame") && !tag.equals("received")) seenLines.merge(tag + (tag.equals("info") ? ":" + infoType(line) : ""), 1, Integer::sum);
                if (tag.equals("subscribed") && ++subscribed == rooms.size()) joined.countDown();
                if (tag.equals("uncaught")) throw new AssertionError(name + ": the client threw: " + line);
                // as a browser fires 'online': reconnect now rather than after @anycable/web's growing backoff
                // (client.mjs then retries every 100 ms until connected: once per disconnection is enough)
                if (tag.equals("connect")) reconnecting = false;
                if ((tag.equals("disconnect") || tag.equals("close")) && !reconnecting) {
                    reconnecting = true;
                    c.send("online");
                }
                if (!tag.equals("received") && !tag.equals("info")) continue;
                JsonNode payload = parse(line.substring(space + 1));
                if (tag.equals("info")) history.add("info " + payload.path("type").asText() + " " + payload.path("identifier").asText());
                if (tag.equals("received")) {
                    String room = payload.at("/meta/stream").asText();
                    String id = payload.at("/message/id").asText();
                    if (reloaded.containsKey(room) && reloaded.get(room).remove(id)) crash.supersededFrames().incrementAndGet();
                    else views.get(room).add(id);
                } else if (payload.path("type").asText().equals("history_received")) {
                    historiesServed.incrementAndGet();
                } else if (payload.path("type").asText().equals("history_not_found")) {
                    needsReload.add("crash/" + parse(payload.get("identifier").asText()).get("room").asText());
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static JsonNode parse(String json) {
        try {
            return Json.MAPPER.readTree(json);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(json, e);
        }
    }
}
