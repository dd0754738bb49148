package io.tidings.server.ws.socketio;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tidings.server.GatewayConfig;
import io.tidings.server.TestGateway;
import io.tidings.storage.Offset;
import io.tidings.storage.RollPeriod;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.stream.Stream;

import static io.tidings.server.ws.socketio.SocketIoDriver.is;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Connection state recovery with the real socket.io-client@4: missed events are replayed from the
 * log exactly once and in order, across cut connections and gateway restarts; when that is not
 * possible the client gets a fresh session ({@code socket.recovered === false}), never a partial one.
 */
class SocketIoRecoveryTest {
    static final String M1 = "{\"account\":\"teamspaceA\",\"model\":\"m1\"}";

    @TempDir
    Path dir;
    TestGateway g;
    SocketIoDriver d;
    volatile boolean wipeSessionsOnNextStart;

    void start(Consumer<GatewayConfig> tweak) {
        g = new TestGateway(dir, c -> {
            if (wipeSessionsOnNextStart) deleteTree(c.dataDir.resolve(SocketIoSettings.SESSION_DIR));
            tweak.accept(c);
        });
        d = new SocketIoDriver(g);
    }

    @AfterEach
    void stop() {
        if (d != null) d.close();
        if (g != null) g.close();
    }

    /** Publishes {@code newIssues} events n = from..to (inclusive) to teamspaceA/m1; returns their offsets. */
    List<String> publish(int from, int to) {
        List<String> offsets = new ArrayList<>();
        for (int n = from; n <= to; n++) offsets.add(g.publish("teamspaceA/m1", "newIssues", "{\"n\":" + n + "}"));
        return offsets;
    }

    /** The n of every teamspaceA::m1::newIssues event {@code id} received since the mark, up to the one with n = last. */
    List<Integer> received(String id, int last) {
        d.await(id + " receiving n=" + last, l -> SocketIoDriver.isEvent(l, id, "teamspaceA::m1::newIssues")
                && l.get("args").get(0).get("n").asInt() == last);
        List<Integer> ns = new ArrayList<>();
        for (JsonNode l : d.since()) {
            if (SocketIoDriver.isEvent(l, id, "teamspaceA::m1::newIssues")) {
                ns.add(l.get("args").get(0).get("n").asInt());
                if (ns.get(ns.size() - 1) == last) break;
            }
        }
        return ns;
    }

    static List<Integer> range(int from, int to) {
        List<Integer> r = new ArrayList<>();
        for (int i = from; i <= to; i++) r.add(i);
        return r;
    }

    /** Lets a held-off client reconnect; returns its next connect line. Moves the mark. */
    JsonNode reconnected(String id) {
        d.mark();
        d.reconnect(id);
        return d.await("reconnect of " + id, l -> is(l, "connect", id));
    }

    @Test
    void missedEventsAreReplayedOnceInOrderAfterTheTransportIsCut() {
        start(c -> {});
        String sid = d.connected("a", TestGateway.token("alice", "teamspaceA")).get("sid").asText();
        d.join("a", M1);
        List<String> offsets = new ArrayList<>(publish(1, 3));
        assertThat(received("a", 3)).containsExactly(1, 2, 3);
        d.cut("a", true);
        offsets.addAll(publish(4, 8));
        g.publish("teamspaceA/m2", "newIssues", "{\"n\":-1}"); // not its room: must not be replayed
        JsonNode again = reconnected("a");
        assertThat(again.get("recovered").asBoolean()).isTrue();
        assertThat(again.get("sid").asText()).isEqualTo(sid);
        offsets.addAll(publish(9, 9));
        d.markAtStart();
        assertThat(received("a", 9)).containsExactlyElementsOf(range(1, 9));
        List<String> seenOffsets = d.since().stream().filter(l -> SocketIoDriver.isEvent(l, "a", "teamspaceA::m1::newIssues"))
                .map(l -> l.get("args").get(1).asText()).toList();
        assertThat(seenOffsets).containsExactlyElementsOf(offsets);
        assertThat(d.since()).noneMatch(l -> is(l, "event", "a") && l.get("name").asText().contains("m2"));
    }

    @Test
    void repeatedCutsWhileEventsArePublishedLoseAndDuplicateNothing() throws Exception {
        start(c -> {});
        String token = TestGateway.token("alice", "teamspaceA");
        d.connected("model", token);
        d.connected("team", token);
        d.join("model", M1);
        d.join("team", "{\"account\":\"teamspaceA\"}");
        AtomicBoolean stop = new AtomicBoolean();
        CompletableFuture<Integer> publisher = CompletableFuture.supplyAsync(() -> {
            int n = 0;
            while (!stop.get()) {
                n++;
                // every third event goes to another model: only the teamspace client gets those
                g.publish(n % 3 == 0 ? "teamspaceA/m2" : "teamspaceA/m1", "newIssues", "{\"n\":" + n + "}");
            }
            return n;
        });
        int cuts = 8;
        try {
            for (int i = 0; i < cuts; i++) {
                String id = i % 2 == 0 ? "model" : "team";
                d.mark();
                d.cut(id, false); // the client reconnects on its own, as after a network blip
                d.await("reconnect of " + id, l -> is(l, "connect", id));
            }
        } finally {
            stop.set(true);
        }
        int total = publisher.get();
        g.publish("teamspaceA/m1", "end", "{}");
        d.markAtStart();

        List<Integer> model = new ArrayList<>(), team = new ArrayList<>();
        for (JsonNode l : d.eventsUntil("model", "teamspaceA::m1::end")) {
            if (!l.get("name").asText().endsWith("::end")) model.add(l.get("args").get(0).get("n").asInt());
        }
        for (JsonNode l : d.eventsUntil("team", "teamspaceA::m1::end")) {
            if (!l.get("name").asText().endsWith("::end")) team.add(l.get("args").get(0).get("n").asInt());
        }
        assertThat(model).containsExactlyElementsOf(range(1, total).stream().filter(n -> n % 3 != 0).toList());
        assertThat(team).containsExactlyElementsOf(range(1, total));
        List<JsonNode> connects = d.all().stream().filter(l -> "connect".equals(l.path("ev").asText())).toList();
        assertThat(connects).hasSize(2 + cuts);
        assertThat(connects.subList(2, connects.size())).allMatch(l -> l.get("recovered").asBoolean());
    }

    @Test
    void aClientThatSawNoEventYetRecoversFromWhereItJoined() {
        start(c -> {});
        d.connected("a", TestGateway.token("alice", "teamspaceA"));
        g.publish("teamspaceA/m1", "newIssues", "{\"n\":0}"); // before the join: never delivered
        d.join("a", M1);
        d.cut("a", true);
        publish(1, 2);
        assertThat(reconnected("a").get("recovered").asBoolean()).isTrue();
        assertThat(received("a", 2)).containsExactly(1, 2);
    }

    @Test
    void aRoomJoinedAfterTheLastSeenEventReplaysOnlyFromItsJoin() {
        start(c -> {});
        d.connected("a", TestGateway.token("alice", "teamspaceA"));
        d.join("a", M1);
        publish(1, 1);
        received("a", 1); // the client's last offset is now n=1's
        g.publish("teamspaceA/m2", "newComment", "{\"n\":-1}"); // m2 before it is joined: never for this client
        d.join("a", "{\"account\":\"teamspaceA\",\"model\":\"m2\"}");
        d.cut("a", true);
        g.publish("teamspaceA/m2", "newComment", "{\"n\":2}");
        publish(3, 3);
        assertThat(reconnected("a").get("recovered").asBoolean()).isTrue();
        d.markAtStart();
        assertThat(received("a", 3)).containsExactly(1, 3);
        assertThat(d.since().stream().filter(l -> is(l, "event", "a")).map(l -> l.get("name").asText() + l.get("args").get(0)).toList())
                .containsExactly("teamspaceA::m1::newIssues{\"n\":1}", "teamspaceA::m2::newComment{\"n\":2}",
                        "teamspaceA::m1::newIssues{\"n\":3}");
    }

    @Test
    void sessionsSurviveAGatewayRestart() {
        start(c -> {});
        String sid = d.connected("a", TestGateway.token("alice", "teamspaceA")).get("sid").asText();
        d.join("a", M1);
        publish(1, 1);
        assertThat(received("a", 1)).containsExactly(1);
        d.cut("a", true);
        g.restart();
        publish(2, 4);
        JsonNode again = reconnected("a");
        assertThat(again.get("recovered").asBoolean()).isTrue();
        assertThat(again.get("sid").asText()).isEqualTo(sid);
        publish(5, 5);
        d.markAtStart();
        assertThat(received("a", 5)).containsExactlyElementsOf(range(1, 5));
    }

    @Test
    void aConnectedClientRidesThroughARestartOnItsOwn() {
        start(c -> {});
        d.connected("a", TestGateway.token("alice", "teamspaceA"));
        d.join("a", M1);
        publish(1, 2);
        assertThat(received("a", 2)).containsExactly(1, 2);
        d.mark();
        g.restart(); // closes the socket with 1001; the client reconnects by itself
        publish(3, 6);
        assertThat(d.await("reconnect", l -> is(l, "connect", "a")).get("recovered").asBoolean()).isTrue();
        publish(7, 7);
        d.markAtStart();
        assertThat(received("a", 7)).containsExactlyElementsOf(range(1, 7));
    }

    @Test
    void lostSessionsGiveAFreshSessionThatMustRejoin() {
        start(c -> {});
        String sid = d.connected("a", TestGateway.token("alice", "teamspaceA")).get("sid").asText();
        d.join("a", M1);
        publish(1, 1);
        received("a", 1);
        d.cut("a", true);
        wipeSessionsOnNextStart = true; // the pid the client sends is now unknown
        g.restart();
        publish(2, 2);
        JsonNode again = reconnected("a");
        assertThat(again.get("recovered").asBoolean()).isFalse();
        assertThat(again.get("sid").asText()).isNotEqualTo(sid);
        publish(3, 3); // no rooms yet: not delivered
        d.join("a", M1);
        publish(4, 4);
        d.markAtStart();
        assertThat(received("a", 4)).containsExactly(1, 4);
    }

    @Test
    void missedEventsNoLongerInTheLogGiveAFreshSessionNotAPartialReplay() throws Exception {
        start(c -> {
            c.rollPeriod = RollPeriod.TEST_SECONDLY;
            c.retentionMaxBytes = 1; // every file but the one being written may go
        });
        d.connected("a", TestGateway.token("alice", "teamspaceA"));
        d.join("a", M1);
        publish(1, 1);
        received("a", 1);
        d.cut("a", true);
        Offset missed = Offset.parse(publish(2, 2).get(0));
        for (int n = 3; g.gateway().log().firstAvailable().index() <= missed.index(); n++) {
            Thread.sleep(300); // let the log roll to a new file, then apply retention
            publish(n, n);
            g.gateway().log().enforceRetention();
        }
        JsonNode again = reconnected("a");
        assertThat(again.get("recovered").asBoolean()).isFalse();
        d.join("a", M1);
        g.publish("teamspaceA/m1", "newIssues", "{\"n\":1000}");
        d.markAtStart();
        assertThat(received("a", 1000)).as("nothing replayed: neither the lost n=2 nor the retained later ones")
                .containsExactly(1, 1000);
    }

    @Test
    void anExpiredSessionGivesAFreshSession() throws Exception {
        start(c -> c.socketIoSessionTtlMs = 300);
        d.connected("a", TestGateway.token("alice", "teamspaceA"));
        d.join("a", M1);
        publish(1, 1);
        received("a", 1);
        d.cut("a", true);
        Thread.sleep(1_000); // well past the TTL
        assertThat(reconnected("a").get("recovered").asBoolean()).isFalse();
    }

    @Test
    void restoreChecksTheTokenAgain() {
        start(c -> {});
        d.connected("other-user", TestGateway.token("alice", "teamspaceA"));
        d.connected("revoked", TestGateway.token("alice", "teamspaceA"));
        d.connected("same", TestGateway.token("alice", "teamspaceA"));
        for (String id : List.of("other-user", "revoked", "same")) {
            d.join(id, M1);
            d.cut(id, true);
        }
        setAuth("other-user", TestGateway.token("bob", "teamspaceA"));    // a valid token, another subject
        setAuth("revoked", TestGateway.token("alice", "teamspaceB"));     // same subject, room no longer granted
        setAuth("same", TestGateway.token("alice", "teamspaceA", "x"));   // a renewed token: recovers
        assertThat(reconnected("other-user").get("recovered").asBoolean()).isFalse();
        assertThat(reconnected("revoked").get("recovered").asBoolean()).isFalse();
        assertThat(reconnected("same").get("recovered").asBoolean()).isTrue();
    }

    private void setAuth(String id, String token) {
        ObjectNode c = SocketIoDriver.cmd("auth", id);
        c.putObject("auth").put("token", token);
        d.send(c);
    }

    @Test
    void disconnectingOnPurposeEndsTheSession() {
        start(c -> {});
        d.connected("a", TestGateway.token("alice", "teamspaceA"));
        d.join("a", M1);
        publish(1, 1);
        received("a", 1);
        d.mark();
        d.send(SocketIoDriver.cmd("disconnect", "a"));
        d.await("disconnect", l -> is(l, "disconnect", "a"));
        // The client reports "disconnect" as soon as it has sent DISCONNECT; the server handles that
        // packet on the old connection's I/O thread. Wait for it (the session record is deleted),
        // or the new connection's CONNECT could race it and find the session still recoverable.
        awaitNoSessionRecords();
        d.send(SocketIoDriver.cmd("connect_again", "a"));
        assertThat(d.await("connect", l -> is(l, "connect", "a")).get("recovered").asBoolean()).isFalse();
    }

    private void awaitNoSessionRecords() {
        Path sessions = dir.resolve("socketio-sessions");
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
        while (true) {
            try (var files = java.nio.file.Files.list(sessions)) {
                if (files.noneMatch(f -> f.getFileName().toString().endsWith(".json"))) return;
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            if (System.nanoTime() > deadline) throw new AssertionError("the server never ended the session");
            java.util.concurrent.locks.LockSupport.parkNanos(10_000_000);
        }
    }

    @Test
    void aNewConnectionTakesOverASessionWhoseOldConnectionLooksAlive() {
        start(c -> {});
        String ws = "/socket.io/?EIO=4&transport=websocket&token=" + TestGateway.token("alice", "teamspaceA");
        d.raw("old", ws);
        d.await("open", l -> is(l, "raw", "old"));
        d.rawSend("old", "40");
        JsonNode first = SocketIoDriver.parse(d.await("connect", l -> is(l, "raw", "old") && l.get("frame").asText().startsWith("40"))
                .get("frame").asText().substring(2));
        d.rawSend("old", "420[\"join\",{\"account\":\"teamspaceA\"}]");
        d.await("join ack", l -> is(l, "raw", "old") && l.get("frame").asText().startsWith("430"));
        String o1 = g.publish("teamspaceA", "one", "{}");
        d.await("event on old", l -> is(l, "raw", "old") && l.get("frame").asText().contains("teamspaceA::one"));
        g.publish("teamspaceA", "two", "{}");
        d.await("event on old", l -> is(l, "raw", "old") && l.get("frame").asText().contains("teamspaceA::two"));

        // the client thinks "old" is dead (it is only half-open) and recovers from its last offset it kept: o1
        d.raw("new", ws);
        d.await("open", l -> is(l, "raw", "new"));
        d.rawSend("new", "40{\"pid\":\"" + first.get("pid").asText() + "\",\"offset\":\"" + o1 + "\"}");
        JsonNode second = SocketIoDriver.parse(d.await("connect", l -> is(l, "raw", "new") && l.get("frame").asText().startsWith("40"))
                .get("frame").asText().substring(2));
        assertThat(second.get("sid").asText()).isEqualTo(first.get("sid").asText());
        assertThat(second.get("pid").asText()).isEqualTo(first.get("pid").asText());
        assertThat(d.await("close of the old connection", l -> is(l, "rawclose", "old")).get("code").asInt()).isEqualTo(1001);
        assertThat(d.await("replayed event", l -> is(l, "raw", "new") && l.get("frame").asText().startsWith("42")).get("frame").asText())
                .contains("teamspaceA::two");
    }

    static void deleteTree(Path p) {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path f : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(f);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
