package io.tidings.server.ws.cable;

import com.fasterxml.jackson.databind.JsonNode;
import io.tidings.server.TestGateway;
import io.tidings.server.auth.ApiKeys;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Presence with real @rails/actioncable clients ("tabs"): GET /v1/presence while tabs join and
 * leave, a SIGKILLed client's connection leaving, coalesced presence events in the log, a
 * room-limited key refused another room.
 */
class PresenceTest {
    static final String PROJECT = "{\"channel\":\"ProjectChannel\",\"id\":42}";
    static final String LIMITED_KEY = "audit-projects-7-only-0123456789";

    @TempDir
    Path dir;

    TestGateway gateway() {
        return new TestGateway(dir, c -> {
            c.cableChannels = new java.util.LinkedHashMap<>(Map.of("ProjectChannel", "projects/{id}"));
            c.presenceEventRooms = List.of("projects");
            c.presenceLeaveDelayMs = 300;
            c.apiKeys = List.of(new ApiKeys.Spec("projects-7", LIMITED_KEY, List.of(ApiKeys.Scope.AUDIT), List.of("projects/7")));
        });
    }

    static TestGateway.Response presence(TestGateway g, String key, String query) {
        return g.send(HttpRequest.newBuilder(URI.create(g.http("/v1/presence?" + query)))
                .header("Authorization", "Bearer " + key).GET().build());
    }

    /** Polls the presence of projects/42 until {@code done} holds (the hub updates as the sockets close). */
    static JsonNode awaitPresence(TestGateway g, Predicate<JsonNode> done) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(CableNode.WAIT_SECONDS);
        JsonNode last;
        do {
            last = presence(g, TestGateway.AUDIT_KEY, "room=projects/42").json();
            if (done.test(last)) return last;
            Thread.sleep(50);
        } while (System.nanoTime() < deadline);
        throw new AssertionError("presence never reached the expected state; last: " + last);
    }

    static CableNode tab(TestGateway g, String sub) throws InterruptedException {
        CableNode c = CableNode.client("rails", g, TestGateway.token(sub, "projects/42"));
        c.send("subscribe " + PROJECT);
        c.next("subscribed");
        return c;
    }

    @Test
    void tabsJoinAndLeaveAKilledConnectionLeavesAndEventsAreCoalesced() throws Exception {
        try (TestGateway g = gateway()) {
            List<CableNode> alice = new ArrayList<>();
            for (int i = 0; i < 3; i++) alice.add(tab(g, "alice"));
            CableNode bob = tab(g, "bob");
            try {
                JsonNode p = awaitPresence(g, j -> j.get("connections").asInt() == 4);
                assertThat(p.get("subjects").asInt()).isEqualTo(2);
                assertThat(p.at("/members/0/sub").asText()).isEqualTo("alice");
                assertThat(p.at("/members/0/connections").asInt()).isEqualTo(3);
                assertThat(p.at("/members/0/protocols").toString()).isEqualTo("[\"actioncable\"]");
                assertThat(p.at("/members/0/since").asText()).matches("\\d{4}-\\d\\d-\\d\\dT.*Z");
                assertThat(p.at("/members/1/sub").asText()).isEqualTo("bob");
                assertThat(p.get("next").isNull()).isTrue();

                JsonNode page = presence(g, TestGateway.PUBLISH_KEY, "room=projects/42&limit=1").json();
                assertThat(page.get("members")).hasSize(1);
                assertThat(page.get("next").asText()).isEqualTo("alice");
                JsonNode page2 = presence(g, TestGateway.PUBLISH_KEY, "room=projects/42&limit=1&after=alice").json();
                assertThat(page2.at("/members/0/sub").asText()).isEqualTo("bob");
                assertThat(presence(g, TestGateway.AUDIT_KEY, "room=projects/42&count=1").body())
                        .isEqualTo("{\"room\":\"projects/42\",\"subjects\":2,\"connections\":4}");

                // two tabs go (one unsubscribes, one closes): alice stays, with one connection
                alice.get(0).send("unsubscribe " + PROJECT);
                alice.remove(1).close();
                p = awaitPresence(g, j -> j.get("connections").asInt() == 2);
                assertThat(p.at("/members/0/connections").asInt()).isEqualTo(1);

                // bob's client process is SIGKILLed: its connection goes, and so does bob
                bob.close();
                p = awaitPresence(g, j -> j.get("subjects").asInt() == 1);
                assertThat(p.at("/members/0/sub").asText()).isEqualTo("alice");
            } finally {
                for (CableNode c : alice) c.close();
            }
            awaitPresence(g, j -> j.get("subjects").asInt() == 0);

            // the log: one join per subject (three tabs join once), one leave each
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            List<String> actions;
            do {
                actions = g.replayLines("room=projects/42&type=presence").stream()
                        .map(e -> e.at("/data/action").asText() + " " + e.at("/data/sub").asText()).toList();
                Thread.sleep(50);
            } while (actions.size() < 4 && System.nanoTime() < deadline);
            assertThat(actions).containsExactly("join alice", "join bob", "leave bob", "leave alice");
        }
    }

    @Test
    void aConnectionWhoseNetworkIsCutLeavesOnceItsIdleTimeoutCloses() throws Exception {
        try (TestGateway g = new TestGateway(dir, c -> {
            c.idleTimeoutMs = 3000;
            c.pingIntervalMs = 500;
            c.presenceLeaveDelayMs = 0;
        })) {
            // a native client that joins and then goes silent with its socket open: from the server's side,
            // a cut network (no FIN, no RST, no pong)
            io.tidings.server.reliability.RawWebSocket silent = io.tidings.server.reliability.RawWebSocket.open(g.port(),
                    "/v1/ws?token=" + TestGateway.token("carol", "projects"), Map.of());
            try {
                assertThat(silent.status()).isEqualTo(101);
                assertThat(silent.next(10_000).text()).contains("\"op\":\"welcome\"");
                silent.text("{\"op\":\"join\",\"room\":\"projects/42\"}");
                assertThat(silent.next(10_000).text()).contains("\"op\":\"joined\"");
                JsonNode p = awaitPresence(g, j -> j.get("subjects").asInt() == 1);
                assertThat(p.at("/members/0/sub").asText()).isEqualTo("carol");
                Thread.sleep(700); // pings unanswered, but within the idle timeout: still there
                assertThat(presence(g, TestGateway.AUDIT_KEY, "room=projects/42&count=1").body())
                        .isEqualTo("{\"room\":\"projects/42\",\"subjects\":1,\"connections\":1}");
                awaitPresence(g, j -> j.get("subjects").asInt() == 0); // the idle timeout closed it
            } finally {
                silent.close();
            }
        }
    }

    @Test
    void aRoomLimitedKeyCannotReadAnotherRoomsPresence() throws Exception {
        try (TestGateway g = gateway(); CableNode c = tab(g, "alice")) {
            awaitPresence(g, j -> j.get("subjects").asInt() == 1);
            TestGateway.Response refused = presence(g, LIMITED_KEY, "room=projects/42");
            assertThat(refused.status()).isEqualTo(403);
            assertThat(refused.json().get("message").asText()).contains("projects/42");
            assertThat(presence(g, LIMITED_KEY, "room=projects/7").body())
                    .isEqualTo("{\"room\":\"projects/7\",\"subjects\":0,\"connections\":0,\"members\":[],\"next\":null}");
            assertThat(presence(g, "no-such-key-0123456789", "room=projects/42").status()).isEqualTo(401);
            assertThat(presence(g, TestGateway.AUDIT_KEY, "").status()).isEqualTo(400);
            assertThat(presence(g, TestGateway.AUDIT_KEY, "room=projects/42&limit=0").status()).isEqualTo(400);
        }
    }

    static CableNode anycable(TestGateway g, String sub) throws InterruptedException {
        CableNode c = CableNode.client("anycable", g, TestGateway.token(sub, "projects/42"));
        c.send("subscribe " + PROJECT);
        c.next("subscribed");
        return c;
    }

    @Test
    void theClientsPresenceCacheFollowsTheJoinsAndLeavesTheServerPushes() throws Exception {
        try (TestGateway g = gateway();
             CableNode alice = anycable(g, "alice");
             CableNode bob = anycable(g, "bob");
             CableNode carol = anycable(g, "carol")) {
            carol.send("presence-cached " + PROJECT); // the first call asks the server, then the client watches
            assertThat(carol.next("presence").get("state").toString()).isEqualTo("{}");
            alice.send("join " + PROJECT + " alice {\"name\":\"Alice\"}");
            assertThat(nextPresenceFrame(carol)).contains("\"message\":{\"type\":\"join\",\"id\":\"alice\",\"info\":{\"name\":\"Alice\"}}");
            bob.send("join " + PROJECT + " bob {\"name\":\"Bob\"}");
            assertThat(nextPresenceFrame(carol)).contains("\"message\":{\"type\":\"join\",\"id\":\"bob\"");
            carol.send("presence-cached " + PROJECT); // from the cache: no request, no info answer
            assertThat(carol.next("presence").get("state").toString()).isEqualTo("{\"alice\":{\"name\":\"Alice\"},\"bob\":{\"name\":\"Bob\"}}");
            alice.send("leave " + PROJECT);
            assertThat(nextPresenceFrame(carol)).contains("\"message\":{\"type\":\"leave\",\"id\":\"alice\"}");
            bob.close(); // its process killed: its connection goes, and its record with it
            assertThat(nextPresenceFrame(carol)).contains("\"message\":{\"type\":\"leave\",\"id\":\"bob\"}");
            carol.send("presence-cached " + PROJECT);
            assertThat(carol.next("presence").get("state").toString()).isEqualTo("{}");
            assertThat(carol.transcript()).as("one info answer: the first call's; the rest came from pushes")
                    .filteredOn(l -> l.startsWith("frame ") && l.contains("\"message\":{\"type\":\"info\"")).hasSize(1);
        }
    }

    /**
     * The next presence frame {@code c} received, skipping the room's logged events: subscribing appends
     * a {@code join} event to the room's log (carol's own arrives asynchronously, before or after the
     * first presence answer), and those are not what the presence cache follows.
     */
    static String nextPresenceFrame(CableNode c) throws InterruptedException {
        while (true) {
            String f = c.nextFrame();
            if (f.startsWith("{\"type\":\"presence\"")) return f;
        }
    }

    /** Asks {@code c}'s presence API until the state is {@code expected} (joins are fire-and-forget frames on other connections). */
    static void awaitState(CableNode c, String expected) throws InterruptedException {
        String state = null;
        for (int i = 0; i < 100; i++) {
            c.send("presence " + PROJECT);
            state = c.next("presence").get("state").toString();
            if (state.equals(expected)) return;
            Thread.sleep(50);
        }
        throw new AssertionError("presence state " + state + ", expected " + expected);
    }

    @Test
    void anycableClientsJoinLeaveAndReadThePresenceSet() throws Exception {
        try (TestGateway g = gateway();
             CableNode alice = anycable(g, "alice");
             CableNode bob = anycable(g, "bob");
             CableNode carol = anycable(g, "carol")) {
            awaitState(carol, "{}"); // subscribed is not joined
            alice.send("join " + PROJECT + " mallory {\"name\":\"Alice\"}"); // the id a client claims is not trusted
            bob.send("join " + PROJECT + " bob {\"name\":\"Bob\"}");
            awaitState(carol, "{\"alice\":{\"name\":\"Alice\"},\"bob\":{\"name\":\"Bob\"}}");
            alice.send("leave " + PROJECT);
            awaitState(carol, "{\"bob\":{\"name\":\"Bob\"}}");
            bob.close(); // SIGKILL: its connection goes, and its record with it
            awaitState(carol, "{}");
            // the HTTP API lists every subscriber, joined or not
            assertThat(awaitPresence(g, j -> j.get("subjects").asInt() == 2).at("/members/1/sub").asText()).isEqualTo("carol");
        }
    }

    @Test
    void nativePresenceOpAnswersForAJoinedRoomOnly() throws Exception {
        try (TestGateway g = gateway();
             io.tidings.server.WsTestClient a1 = io.tidings.server.WsTestClient.welcomed(g, TestGateway.token("alice", "projects/42"));
             io.tidings.server.WsTestClient a2 = io.tidings.server.WsTestClient.welcomed(g, TestGateway.token("alice", "projects/42"));
             CableNode tab = tab(g, "alice")) {
            a1.joinLive("projects/42");
            a2.joinLive("projects/42");
            a1.send("{\"op\":\"presence\",\"room\":\"projects/42\"}");
            // the tab's join event may be delivered live first (presence events are on for projects/)
            JsonNode p = a1.await(f -> f.path("op").asText().equals("presence"));
            assertThat(p.get("subjects").asInt()).isEqualTo(1);
            assertThat(p.get("connections").asInt()).isEqualTo(3);
            assertThat(p.at("/members/0/protocols").toString()).isEqualTo("[\"actioncable\",\"native\"]");
            assertThat(p.get("more").asBoolean()).isFalse();
            a1.send("{\"op\":\"presence\",\"room\":\"projects/7\"}");
            JsonNode e = a1.await(f -> f.path("op").asText().equals("error"));
            assertThat(e.get("code").asText()).isEqualTo("not_joined");
        }
    }
}
