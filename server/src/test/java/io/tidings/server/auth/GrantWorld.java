package io.tidings.server.auth;

import io.tidings.server.GatewayConfig;
import io.tidings.server.TestGateway;
import io.tidings.server.WsTestClient;
import io.tidings.server.http.Json;
import io.tidings.server.hub.Rooms;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A random world for authorization properties: users with random grants over teamspace rooms
 * {@code t<team>} and model rooms {@code t<team>/m<model>}, authenticated by JWT grants, by an
 * application session the authorization webhook ({@link FakeApp}) answers for, or both; random
 * publishes to those rooms, rooms below them and users' personal rooms; and the check that a
 * connection received exactly the events of the rooms it joined and none its user was not granted.
 * Used by {@link NoLeakPropertyTest} and reliability/AuthorizationPropertyTest.
 *
 * <p>Not thread-safe: one test thread.
 */
public final class GrantWorld {
    public static final List<String> TEAMS = List.of("0", "1", "2");
    public static final List<String> MODELS = List.of("0", "1");
    /** The cable channels a gateway must map for {@link #cableSubscription}. */
    public static final Map<String, String> CABLE_CHANNELS = Map.of("NotificationsChannel", "user/{$sub}", "TeamChannel", "t{team}",
            "ModelChannel", "t{team}/m{model}");
    public static final List<String> KINDS = List.of("jwt", "webhook", "jwt+webhook");

    /** Points {@code c} at {@code app}'s webhook (session cookie {@code connect.sid}) and maps the cable channels. */
    public static void configure(GatewayConfig c, FakeApp app) {
        app.configure(c);
        c.cableChannels = CABLE_CHANNELS;
    }

    /** One user: how it authenticates, every room prefix it may join, and its JWT (null for webhook users). */
    public record User(String sub, String kind, Set<String> granted, String token) {
        public boolean may(String room) {
            if (Rooms.within(room, "user/" + sub)) return true;
            for (String g : granted) if (Rooms.within(room, g)) return true;
            return false;
        }

        /** Upgrade headers that authenticate this user on the native and ActionCable endpoints. */
        public Map<String, String> headers() {
            return kind.equals("webhook") ? Map.of("Cookie", "connect.sid=session-" + sub) : Map.of("Cookie", "Authorization=" + token);
        }
    }

    /** One cable subscription: the identifier's params and the room they map to. */
    public record CableSubscription(String identifier, String room) {}

    public final Random rnd;
    public final List<String> universe = new ArrayList<>();
    public final List<User> users = new ArrayList<>();
    /** The rooms of every published event, by event number ({@code data.i}). */
    public final List<List<String>> published = new ArrayList<>();

    /** {@code count} users named {@code prefix<n>}, kinds in turn; the webhook users and grants are registered with {@code app}. */
    public GrantWorld(Random rnd, String prefix, int count, FakeApp app) {
        this.rnd = rnd;
        for (String t : TEAMS) {
            universe.add("t" + t);
            for (String m : MODELS) universe.add("t" + t + "/m" + m);
        }
        for (int i = 0; i < count; i++) {
            String sub = prefix + i;
            Set<String> granted = new HashSet<>();
            for (String room : universe) if (rnd.nextInt(4) == 0) granted.add(room);
            String kind = KINDS.get(i % KINDS.size());
            Set<String> fromApp = new HashSet<>();
            switch (kind) {
                case "jwt" -> { }
                case "webhook" -> {
                    app.sessions.put("session-" + sub, sub);
                    fromApp.addAll(granted);
                }
                default -> { // half the grants in the token, the other half from the webhook
                    for (String r : granted) if (rnd.nextBoolean()) fromApp.add(r);
                }
            }
            app.permissions.put(sub, fromApp);
            String token = kind.equals("webhook") ? null
                    : new TokenVerifier(TestGateway.SECRET).mint(sub, granted.stream().filter(r -> !fromApp.contains(r)).toList(), Duration.ofHours(1));
            users.add(new User(sub, kind, granted, token));
        }
    }

    /** A room a client might try to join: a universe room, one below it, or someone's personal room. */
    public String randomRoom() {
        return switch (rnd.nextInt(5)) {
            case 0 -> "user/" + users.get(rnd.nextInt(users.size())).sub();
            case 1 -> universe.get(rnd.nextInt(universe.size())) + "/x" + rnd.nextInt(2);
            default -> universe.get(rnd.nextInt(universe.size()));
        };
    }

    /** Joins {@code room} on a native connection and checks the answer is what {@code u}'s grants say; adds it to {@code joined} if granted. */
    public static void nativeJoin(WsTestClient ws, User u, String room, Set<String> joined) {
        ws.send("{\"op\":\"join\",\"room\":" + Json.quote(room) + "}");
        String answer = ws.nextText();
        if (u.may(room)) {
            assertThat(answer).as(u + " joins " + room).isEqualTo("{\"op\":\"joined\",\"room\":" + Json.quote(room) + "}");
            assertThat(ws.nextText()).isEqualTo("{\"op\":\"live\",\"room\":" + Json.quote(room) + "}");
            joined.add(room);
        } else {
            assertThat(answer).as(u + " joins " + room).contains("\"op\":\"error\",\"code\":\"forbidden\"");
        }
    }

    /** A random team or model subscription of the cable channels. */
    public CableSubscription cableSubscription() {
        String team = TEAMS.get(rnd.nextInt(TEAMS.size()));
        if (rnd.nextBoolean()) return new CableSubscription("{\"channel\":\"TeamChannel\",\"team\":" + team + "}", "t" + team);
        String model = MODELS.get(rnd.nextInt(MODELS.size()));
        return new CableSubscription("{\"channel\":\"ModelChannel\",\"team\":\"" + team + "\",\"model\":" + model + "}", "t" + team + "/m" + model);
    }

    /**
     * Publishes {@code count} events {@code {"i":n}} to random rooms (some in two rooms, some below
     * the universe, some to users), then an {@code end} event to every user's room.
     */
    public void publish(TestGateway g, int count) {
        for (int n = 0; n < count; n++) {
            List<String> rooms = new ArrayList<>();
            int k = rnd.nextInt(5) == 0 ? 2 : 1;
            while (rooms.size() < k) {
                String r = switch (rnd.nextInt(4)) {
                    case 0 -> "user/" + users.get(rnd.nextInt(users.size())).sub();
                    case 1 -> universe.get(rnd.nextInt(universe.size())) + "/x" + rnd.nextInt(2);
                    default -> universe.get(rnd.nextInt(universe.size()));
                };
                if (!rooms.contains(r)) rooms.add(r);
            }
            int i = published.size();
            published.add(rooms);
            StringBuilder body = new StringBuilder("{\"rooms\":[");
            for (int j = 0; j < rooms.size(); j++) body.append(j == 0 ? "" : ",").append(Json.quote(rooms.get(j)));
            assertThat(g.publishRaw(body.append("],\"type\":\"t\",\"data\":{\"i\":").append(i).append("}}").toString()).status()).isEqualTo(200);
        }
        for (User u : users) g.publish("user/" + u.sub(), "end", "{\"end\":true}");
    }

    /**
     * Fails unless {@code received} (event numbers) holds no event none of whose rooms {@code u} may
     * join, and exactly the events with a room within one of {@code joined}.
     */
    public void check(String who, User u, Set<String> joined, Set<Integer> received) {
        String what = who + " of " + u.sub() + " " + u.granted() + " joined " + joined;
        for (int i : received) {
            assertThat(published.get(i).stream().anyMatch(u::may)).as(what + " received event %d in %s", i, published.get(i)).isTrue();
        }
        Set<Integer> expected = new HashSet<>();
        for (int i = 0; i < published.size(); i++) {
            for (String r : published.get(i)) for (String j : joined) if (Rooms.within(r, j)) expected.add(i);
        }
        assertThat(received).as(what).isEqualTo(expected);
    }
}
