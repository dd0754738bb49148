package io.tidings.server.auth;

import com.fasterxml.jackson.databind.JsonNode;
import io.tidings.server.TestGateway;
import io.tidings.server.WsClient;
import io.tidings.server.http.Json;
import io.tidings.server.hub.Rooms;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Property: whatever the users, their grants, the rooms they try to join and what is published, no
 * client ever receives an event none of whose rooms its grants cover; every join is answered as the
 * grants say; and a client receives exactly the events of the rooms it joined. Random users are
 * authenticated three ways (JWT grants; webhook session with per-join webhook answers; JWT whose
 * extra rooms the webhook grants) and connect over the native protocol and ActionCable at once.
 */
class NoLeakPropertyTest {
    static final List<String> TEAMS = List.of("0", "1", "2");
    static final List<String> MODELS = List.of("0", "1");

    @TempDir
    Path dir;

    /** One user: how it authenticates and every room prefix it may join. */
    record User(String sub, String kind, Set<String> granted) {
        boolean may(String room) {
            if (Rooms.within(room, "user/" + sub)) return true;
            for (String g : granted) if (Rooms.within(room, g)) return true;
            return false;
        }
    }

    /** What one connection received: event number → frames, and the rooms it joined. */
    static final class Seen {
        final Map<Integer, Integer> events = new HashMap<>();
        final Set<String> joined = new LinkedHashSet<>();
    }

    @Test
    void noClientEverReceivesAnEventOfARoomItWasNotGranted() throws Exception {
        try (FakeApp app = new FakeApp();
             TestGateway g = new TestGateway(dir, c -> {
                 c.authWebhookUrl = app.url();
                 c.authWebhookSecret = FakeApp.SECRET;
                 c.authWebhookCookies = List.of("connect.sid");
                 c.cableChannels = Map.of("NotificationsChannel", "user/{$sub}", "TeamChannel", "t{team}",
                         "ModelChannel", "t{team}/m{model}");
             })) {
            long base = System.nanoTime();
            for (int round = 0; round < 3; round++) {
                long seed = base + round;
                try {
                    round(g, app, new Random(seed), "r" + round + "u");
                } catch (AssertionError e) {
                    throw new AssertionError("seed " + seed + " (round " + round + "): " + e.getMessage(), e);
                }
            }
        }
    }

    private void round(TestGateway g, FakeApp app, Random rnd, String prefix) throws Exception {
        List<String> universe = new ArrayList<>();
        for (String t : TEAMS) {
            universe.add("t" + t);
            for (String m : MODELS) universe.add("t" + t + "/m" + m);
        }
        List<User> users = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            String sub = prefix + i;
            Set<String> granted = new HashSet<>();
            for (String room : universe) if (rnd.nextInt(4) == 0) granted.add(room);
            String kind = List.of("jwt", "webhook", "jwt+webhook").get(i % 3);
            users.add(new User(sub, kind, granted));
            switch (kind) {
                case "jwt" -> app.permissions.put(sub, Set.of());
                case "webhook" -> {
                    app.sessions.put("session-" + sub, sub);
                    app.permissions.put(sub, granted);
                }
                default -> { // half the grants in the token, the other half from the webhook
                    Set<String> fromApp = new HashSet<>();
                    for (String r : granted) if (rnd.nextBoolean()) fromApp.add(r);
                    app.permissions.put(sub, fromApp);
                }
            }
        }
        Map<String, String> tokens = new HashMap<>();
        for (User u : users) {
            if (u.kind().equals("webhook")) continue;
            List<String> inToken = u.granted().stream().filter(r -> !app.permissions.get(u.sub()).contains(r)).toList();
            tokens.put(u.sub(), new TokenVerifier(TestGateway.SECRET).mint(u.sub(), inToken, Duration.ofHours(1)));
        }

        // connect: one native and one ActionCable connection per user; joins answered as the grants say
        List<WsClient> clients = new ArrayList<>();
        List<User> owners = new ArrayList<>();
        List<Seen> seen = new ArrayList<>();
        List<Boolean> cable = new ArrayList<>();
        for (User u : users) {
            Map<String, String> headers = u.kind().equals("webhook") ? Map.of("Cookie", "connect.sid=session-" + u.sub())
                    : Map.of("Cookie", "Authorization=" + tokens.get(u.sub()));
            WsClient n = WsClient.open(g.ws("/v1/ws"), headers);
            assertThat(n.nextFrame()).contains("\"sub\":\"" + u.sub() + "\"");
            Seen ns = new Seen();
            for (String room : nativeJoins(rnd, universe, users, u)) nativeJoin(n, u, room, ns);
            clients.add(n);
            owners.add(u);
            seen.add(ns);
            cable.add(false);

            WsClient c = WsClient.open(g.ws("/cable"), headers, "actioncable-v1-json");
            assertThat(c.nextNonPing()).isEqualTo("frame {\"type\":\"welcome\"}");
            Seen cs = new Seen();
            cableSubscribe(c, u, "{\"channel\":\"NotificationsChannel\"}", "user/" + u.sub(), cs);
            for (int k = 0; k < 4; k++) {
                String team = TEAMS.get(rnd.nextInt(TEAMS.size()));
                if (rnd.nextBoolean()) {
                    cableSubscribe(c, u, "{\"channel\":\"TeamChannel\",\"team\":" + team + "}", "t" + team, cs);
                } else {
                    String model = MODELS.get(rnd.nextInt(MODELS.size()));
                    cableSubscribe(c, u, "{\"channel\":\"ModelChannel\",\"team\":\"" + team + "\",\"model\":" + model + "}",
                            "t" + team + "/m" + model, cs);
                }
            }
            clients.add(c);
            owners.add(u);
            seen.add(cs);
            cable.add(true);
        }

        // publish: random rooms, some events in two rooms, some below the universe, some to users
        List<List<String>> published = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            List<String> rooms = new ArrayList<>();
            int n = rnd.nextInt(5) == 0 ? 2 : 1;
            while (rooms.size() < n) {
                String r = switch (rnd.nextInt(4)) {
                    case 0 -> "user/" + users.get(rnd.nextInt(users.size())).sub();
                    case 1 -> universe.get(rnd.nextInt(universe.size())) + "/x" + rnd.nextInt(2);
                    default -> universe.get(rnd.nextInt(universe.size()));
                };
                if (!rooms.contains(r)) rooms.add(r);
            }
            published.add(rooms);
            StringBuilder body = new StringBuilder("{\"rooms\":[");
            for (int k = 0; k < rooms.size(); k++) body.append(k == 0 ? "" : ",").append(Json.quote(rooms.get(k)));
            assertThat(g.publishRaw(body.append("],\"type\":\"t\",\"data\":{\"i\":").append(i).append("}}").toString()).status()).isEqualTo(200);
        }
        for (User u : users) g.publish("user/" + u.sub(), "end", "{\"end\":true}");

        // read everything up to each connection's end marker (events arrive in log order)
        for (int k = 0; k < clients.size(); k++) {
            WsClient ws = clients.get(k);
            Seen s = seen.get(k);
            while (true) {
                String line = ws.nextLine();
                assertThat(line).as("connection %s of %s", cable.get(k) ? "cable" : "native", owners.get(k).sub()).startsWith("frame ");
                JsonNode f = Json.MAPPER.readTree(line.substring(6));
                if (cable.get(k) && f.has("type")) continue; // ActionCable pings and confirmations
                JsonNode data = cable.get(k) ? f.get("message") : f.get("data");
                if (data == null) continue; // native live frames
                if (data.has("end")) break;
                s.events.merge(data.get("i").asInt(), 1, Integer::sum);
            }
            ws.close();
        }

        for (int k = 0; k < clients.size(); k++) {
            User u = owners.get(k);
            Seen s = seen.get(k);
            String who = (cable.get(k) ? "cable" : "native") + " client of " + u.sub() + " " + u.granted() + " joined " + s.joined;
            for (int i : s.events.keySet()) {
                assertThat(published.get(i).stream().anyMatch(u::may)).as(who + " received event %d in %s", i, published.get(i)).isTrue();
            }
            Set<Integer> expected = new HashSet<>();
            for (int i = 0; i < published.size(); i++) {
                for (String r : published.get(i)) for (String j : s.joined) if (Rooms.within(r, j)) expected.add(i);
            }
            assertThat(s.events.keySet()).as(who).isEqualTo(expected);
            if (!cable.get(k)) assertThat(s.events.values()).as(who + ": one frame per event").allMatch(n -> n == 1);
        }
    }

    private static List<String> nativeJoins(Random rnd, List<String> universe, List<User> users, User u) {
        List<String> rooms = new ArrayList<>(List.of("user/" + u.sub()));
        for (int k = 0; k < 5; k++) {
            rooms.add(switch (rnd.nextInt(5)) {
                case 0 -> "user/" + users.get(rnd.nextInt(users.size())).sub();
                case 1 -> universe.get(rnd.nextInt(universe.size())) + "/x" + rnd.nextInt(2);
                default -> universe.get(rnd.nextInt(universe.size()));
            });
        }
        return rooms;
    }

    private static void nativeJoin(WsClient ws, User u, String room, Seen s) throws InterruptedException {
        ws.send("{\"op\":\"join\",\"room\":" + Json.quote(room) + "}");
        String answer = ws.nextFrame();
        if (u.may(room)) {
            assertThat(answer).as(u + " joins " + room).isEqualTo("{\"op\":\"joined\",\"room\":" + Json.quote(room) + "}");
            assertThat(ws.nextFrame()).isEqualTo("{\"op\":\"live\",\"room\":" + Json.quote(room) + "}");
            s.joined.add(room);
        } else {
            assertThat(answer).as(u + " joins " + room).contains("\"op\":\"error\",\"code\":\"forbidden\"");
        }
    }

    private static void cableSubscribe(WsClient ws, User u, String identifier, String room, Seen s) throws InterruptedException {
        ws.send("{\"command\":\"subscribe\",\"identifier\":" + Json.quote(identifier) + "}");
        String answer = ws.nextNonPing();
        if (u.may(room)) {
            assertThat(answer).as(u + " subscribes " + room).contains("confirm_subscription");
            s.joined.add(room);
        } else {
            assertThat(answer).as(u + " subscribes " + room).contains("reject_subscription");
        }
    }
}
