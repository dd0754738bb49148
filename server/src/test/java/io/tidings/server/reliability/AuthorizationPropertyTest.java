package io.tidings.server.reliability;

import com.fasterxml.jackson.databind.JsonNode;
import io.tidings.server.TestGateway;
import io.tidings.server.WsTestClient;
import io.tidings.server.auth.FakeApp;
import io.tidings.server.auth.GrantWorld;
import io.tidings.server.auth.GrantWorld.User;
import io.tidings.server.http.Json;
import io.tidings.server.ws.cable.CableNode;
import io.tidings.server.ws.socketio.SocketIoDriver;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Reliability scenario 6 (docs/reliability.md, "Authorization"): random users with random grants
 * ({@link GrantWorld}: JWT grants, webhook sessions answered by {@link FakeApp}, or both) connect on
 * every protocol — the native protocol, the real socket.io-client, the real @rails/actioncable — try
 * to join granted and ungranted rooms, and random events are published to rooms, rooms below them and
 * personal rooms. Every join must be answered as the grants say; no connection may receive an event
 * of a room its user was not granted; every granted join must receive every event of its room.
 *
 * <p>Socket.IO clients authenticate with the JWT only (its {@code auth.token}); ActionCable's npm
 * client sends the token cookie, so webhook-only users connect on the native protocol (their
 * ActionCable and webhook-only coverage over raw frames is {@code auth/NoLeakPropertyTest}).
 * {@code ops/reliability/run.sh auth [--long] [--seed N]}; knobs {@code authRounds}, {@code authUsers},
 * {@code authEvents}.
 */
class AuthorizationPropertyTest {
    @TempDir
    Path dir;

    @Test
    void noClientOnAnyProtocolReceivesAnEventOfARoomItWasNotGranted() throws Exception {
        int rounds = Scale.pick("authRounds", 2, 40);
        int usersPerRound = Scale.pick("authUsers", 6, 12);
        int events = Scale.pick("authEvents", 60, 300);
        Counts counts = new Counts();
        long started = System.nanoTime();
        try (FakeApp app = new FakeApp();
             TestGateway g = new TestGateway(dir, c -> GrantWorld.configure(c, app))) {
            for (int round = 0; round < rounds; round++) {
                GrantWorld world = new GrantWorld(new Random(Scale.seed() + round), "a" + round + "u", usersPerRound, app);
                try {
                    round(g, world, events, counts);
                } catch (AssertionError e) {
                    throw new AssertionError("seed " + Scale.seed() + " (round " + round + "): " + e.getMessage(), e);
                }
            }
        }
        Scale.report("auth", String.format("rounds=%d users=%d eventsPublished=%d connections native=%d socket.io=%d actioncable=%d "
                        + "joinsTried=%d joinsGranted=%d eventsDelivered=%d leaks=0 missed=0 seconds=%.1f",
                rounds, rounds * usersPerRound, rounds * events, counts.connections[0], counts.connections[1], counts.connections[2],
                counts.joinsTried, counts.joinsGranted, counts.delivered, (System.nanoTime() - started) / 1e9));
    }

    /** Figures of the run, for the report. */
    private static final class Counts {
        final int[] connections = new int[3]; // native, socket.io, actioncable
        int joinsTried, joinsGranted, delivered;

        void joined(Set<String> rooms, int tried) {
            joinsTried += tried;
            joinsGranted += rooms.size();
        }
    }

    private static void round(TestGateway g, GrantWorld world, int events, Counts counts) throws Exception {
        List<AutoCloseable> open = new ArrayList<>();
        try (SocketIoDriver io = new SocketIoDriver(g)) {
            List<Reader> readers = new ArrayList<>();
            for (User u : world.users) {
                // native: the user's room and five random ones
                WsTestClient n = WsTestClient.connect(URI.create(g.ws("/v1/ws")), u.headers());
                open.add(n);
                assertThat(n.nextText()).contains("\"sub\":\"" + u.sub() + "\"");
                Set<String> nativeJoined = new LinkedHashSet<>();
                GrantWorld.nativeJoin(n, u, "user/" + u.sub(), nativeJoined);
                for (int k = 0; k < 5; k++) GrantWorld.nativeJoin(n, u, world.randomRoom(), nativeJoined);
                readers.add(() -> check(world, "native client", u, nativeJoined, nativeEvents(n)));
                counts.connections[0]++;
                counts.joined(nativeJoined, 6);
                if (u.token() == null) continue;

                if (u.kind().equals("jwt")) {
                    // Socket.IO: the personal room ({account:'user', model:sub}) and five random teamspaces or models
                    io.connected(u.sub(), u.token());
                    Set<String> ioJoined = new LinkedHashSet<>();
                    socketIoJoin(io, u, "user/" + u.sub(), ioJoined);
                    int tried = 1;
                    for (int k = 0; k < 5; k++) {
                        String room = world.randomRoom();
                        if (room.contains("/x")) continue; // only teamspaces and models are joinable
                        socketIoJoin(io, u, room, ioJoined);
                        tried++;
                    }
                    readers.add(() -> check(world, "socket.io client", u, ioJoined, socketIoEvents(io, u)));
                    counts.connections[1]++;
                    counts.joined(ioJoined, tried);
                }

                // ActionCable (@rails/actioncable): the personal channel and four random team/model channels
                CableNode cable = CableNode.client("rails", g, u.token());
                open.add(cable);
                Set<String> cableJoined = new LinkedHashSet<>();
                Set<String> identifiers = new HashSet<>();
                cableSubscribe(cable, u, new GrantWorld.CableSubscription("{\"channel\":\"NotificationsChannel\"}", "user/" + u.sub()), cableJoined);
                for (int k = 0; k < 4; k++) {
                    GrantWorld.CableSubscription sub = world.cableSubscription();
                    if (identifiers.add(sub.identifier())) cableSubscribe(cable, u, sub, cableJoined);
                }
                readers.add(() -> check(world, "actioncable client", u, cableJoined, cableEvents(cable)));
                counts.connections[2]++;
                counts.joined(cableJoined, identifiers.size() + 1);
            }
            world.publish(g, events);
            for (Reader r : readers) counts.delivered += r.read();
        } finally {
            for (AutoCloseable c : open) c.close();
        }
    }

    /** Reads one connection to its end marker, checks it, and returns how many events it received. */
    private interface Reader {
        int read() throws Exception;
    }

    private static int check(GrantWorld world, String who, User u, Set<String> joined, Set<Integer> received) {
        world.check(who, u, joined, received);
        return received.size();
    }

    private static Set<Integer> nativeEvents(WsTestClient ws) {
        Set<Integer> got = new HashSet<>();
        while (true) {
            JsonNode data = json(ws.nextText()).get("data");
            if (data == null) continue;
            if (data.has("end")) return got;
            assertThat(got.add(data.get("i").asInt())).as("native: event %s once", data).isTrue();
        }
    }

    private static void socketIoJoin(SocketIoDriver io, User u, String room, Set<String> joined) {
        String[] parts = room.split("/", 2);
        String arg = "{\"account\":" + Json.quote(parts[0]) + (parts.length > 1 ? ",\"model\":" + Json.quote(parts[1]) : "") + "}";
        JsonNode ack = io.join(u.sub(), arg);
        assertThat(ack.path("ok").asBoolean()).as(u + " joins " + room + " over Socket.IO: " + ack).isEqualTo(u.may(room));
        if (u.may(room)) joined.add(room);
    }

    private static Set<Integer> socketIoEvents(SocketIoDriver io, User u) {
        Set<Integer> got = new HashSet<>();
        for (JsonNode e : io.eventsUntil(u.sub(), "user::" + u.sub() + "::end")) {
            if (e.get("name").asText().equals("credentialError")) continue;
            JsonNode data = e.get("args").get(0);
            if (data.has("end")) break;
            assertThat(got.add(data.get("i").asInt())).as("socket.io: event %s once", e).isTrue();
        }
        return got;
    }

    private static void cableSubscribe(CableNode cable, User u, GrantWorld.CableSubscription sub, Set<String> joined) throws InterruptedException {
        cable.send("subscribe " + sub.identifier());
        JsonNode wanted = json(sub.identifier());
        while (true) {
            String line = cable.nextLine();
            int space = line.indexOf(' ');
            String tag = space < 0 ? line : line.substring(0, space);
            if (!tag.equals("subscribed") && !tag.equals("rejected")) continue;
            if (!json(json(line.substring(space + 1)).get("identifier").asText()).equals(wanted)) continue;
            assertThat(tag).as(u + " subscribes " + sub.room() + " with @rails/actioncable").isEqualTo(u.may(sub.room()) ? "subscribed" : "rejected");
            if (u.may(sub.room())) joined.add(sub.room());
            return;
        }
    }

    private static Set<Integer> cableEvents(CableNode cable) throws InterruptedException {
        Set<Integer> got = new HashSet<>();
        while (true) {
            String line = cable.nextLine();
            if (line.startsWith("uncaught ")) throw new AssertionError("the ActionCable client threw: " + line);
            if (!line.startsWith("received ")) continue;
            JsonNode message = json(line.substring(9)).get("message");
            if (message.has("end")) return got;
            got.add(message.get("i").asInt()); // once per subscription that covers it: a set
        }
    }

    private static JsonNode json(String text) {
        try {
            return Json.MAPPER.readTree(text);
        } catch (IOException e) {
            throw new UncheckedIOException(text, e);
        }
    }
}
