package io.tidings.server.auth;

import com.fasterxml.jackson.databind.JsonNode;
import io.tidings.server.TestGateway;
import io.tidings.server.WsTestClient;
import io.tidings.server.auth.GrantWorld.User;
import io.tidings.server.http.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
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
 * The world (users, grants, publishes, the check) is {@link GrantWorld}; reliability/AuthorizationPropertyTest
 * runs it over the real Socket.IO and ActionCable npm clients too.
 */
class NoLeakPropertyTest {
    @TempDir
    Path dir;

    /** What one connection received: event number → frames, and the rooms it joined. */
    static final class Seen {
        final Map<Integer, Integer> events = new HashMap<>();
        final Set<String> joined = new LinkedHashSet<>();
    }

    @Test
    void noClientEverReceivesAnEventOfARoomItWasNotGranted() throws Exception {
        try (FakeApp app = new FakeApp();
             TestGateway g = new TestGateway(dir, c -> GrantWorld.configure(c, app))) {
            long base = System.nanoTime();
            for (int round = 0; round < 3; round++) {
                long seed = base + round;
                try {
                    round(g, new GrantWorld(new Random(seed), "r" + round + "u", 6, app));
                } catch (AssertionError e) {
                    throw new AssertionError("seed " + seed + " (round " + round + "): " + e.getMessage(), e);
                }
            }
        }
    }

    private void round(TestGateway g, GrantWorld world) throws Exception {
        // connect: one native and one ActionCable connection per user; joins answered as the grants say
        List<WsTestClient> clients = new ArrayList<>();
        List<User> owners = new ArrayList<>();
        List<Seen> seen = new ArrayList<>();
        List<Boolean> cable = new ArrayList<>();
        for (User u : world.users) {
            WsTestClient n = WsTestClient.connect(URI.create(g.ws("/v1/ws")), u.headers());
            assertThat(n.nextText()).contains("\"sub\":\"" + u.sub() + "\"");
            Seen ns = new Seen();
            GrantWorld.nativeJoin(n, u, "user/" + u.sub(), ns.joined);
            for (int k = 0; k < 5; k++) GrantWorld.nativeJoin(n, u, world.randomRoom(), ns.joined);
            clients.add(n);
            owners.add(u);
            seen.add(ns);
            cable.add(false);

            WsTestClient c = WsTestClient.connect(URI.create(g.ws("/cable")), u.headers(), "actioncable-v1-json");
            assertThat(c.nextNonPingLine()).isEqualTo("frame {\"type\":\"welcome\"}");
            Seen cs = new Seen();
            cableSubscribe(c, u, new GrantWorld.CableSubscription("{\"channel\":\"NotificationsChannel\"}", "user/" + u.sub()), cs);
            for (int k = 0; k < 4; k++) cableSubscribe(c, u, world.cableSubscription(), cs);
            clients.add(c);
            owners.add(u);
            seen.add(cs);
            cable.add(true);
        }

        world.publish(g, 60);

        // read everything up to each connection's end marker (events arrive in log order)
        for (int k = 0; k < clients.size(); k++) {
            WsTestClient ws = clients.get(k);
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
            ws.abort();
        }

        for (int k = 0; k < clients.size(); k++) {
            String who = (cable.get(k) ? "cable" : "native") + " client";
            world.check(who, owners.get(k), seen.get(k).joined, seen.get(k).events.keySet());
            if (!cable.get(k)) assertThat(seen.get(k).events.values()).as(who + ": one frame per event").allMatch(n -> n == 1);
        }
    }

    private static void cableSubscribe(WsTestClient ws, User u, GrantWorld.CableSubscription sub, Seen s) {
        ws.send("{\"command\":\"subscribe\",\"identifier\":" + Json.quote(sub.identifier()) + "}");
        String answer = ws.nextNonPingLine();
        if (u.may(sub.room())) {
            assertThat(answer).as(u + " subscribes " + sub.room()).contains("confirm_subscription");
            s.joined.add(sub.room());
        } else {
            assertThat(answer).as(u + " subscribes " + sub.room()).contains("reject_subscription");
        }
    }
}
