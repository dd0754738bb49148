package io.tidings.server.ws.cable;

import com.fasterxml.jackson.databind.JsonNode;
import io.tidings.server.TestGateway;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static io.tidings.server.ws.cable.CableNode.NOTIFICATIONS;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The AnyCable broadcast endpoint with what a Rails app really sends: the bytes the anycable gem
 * sent for Lessy's {@code NotificationsChannel.broadcast_to(user 23, …)} (fixtures in
 * src/test/resources/anycable, see its README), POSTed unchanged to a real gateway, received by a
 * real @rails/actioncable client of user 23. Bad requests are refused whole.
 */
class BroadcastTest {
    static final String STREAM_23 = "notifications:Z2lkOi8vbGVzc3kvVXNlci8yMw"; // gid://lessy/User/23

    @TempDir
    Path dir;

    static byte[] fixture(String name) throws IOException {
        return Files.readAllBytes(Path.of("src/test/resources/anycable", name));
    }

    /** Writes {@code request} on a fresh socket and returns the status line and body of the answer. */
    static String[] sendRaw(TestGateway g, byte[] request) throws IOException {
        try (Socket s = new Socket("127.0.0.1", g.port())) {
            s.getOutputStream().write(request);
            s.getOutputStream().flush();
            InputStream in = s.getInputStream();
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            in.transferTo(all); // the gem's request says Connection: close
            String text = all.toString(StandardCharsets.UTF_8);
            return new String[] {text.substring(0, text.indexOf("\r\n")), text.substring(text.indexOf("\r\n\r\n") + 4)};
        }
    }

    TestGateway.Response post(TestGateway g, String key, String body) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(g.http("/_broadcast")))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
        if (key != null) b.header("Authorization", "Bearer " + key);
        return g.send(b.build());
    }

    static String publication(String stream, String data) {
        return "{\"stream\":" + io.tidings.server.http.Json.quote(stream) + ",\"data\":" + io.tidings.server.http.Json.quote(data) + "}";
    }

    @Test
    void theGemsExactRequestReachesUser23sCableSubscription() throws Exception {
        try (TestGateway g = new TestGateway(dir);
             CableNode c = CableNode.client("rails", g, TestGateway.token("23"))) {
            c.send("subscribe " + NOTIFICATIONS);
            c.next("subscribed");
            String[] answer = sendRaw(g, fixture("lessy-broadcast.http"));
            assertThat(answer[0]).isEqualTo("HTTP/1.1 201 Created");
            assertThat(answer[1]).matches("\\{\"offsets\":\\[\"[^\"]+\"],\"duplicates\":\\[]}");
            JsonNode got = c.next("received");
            assertThat(got.get("identifier").asText()).isEqualTo(NOTIFICATIONS);
            assertThat(got.get("message").toString()).isEqualTo("{\"action\":\"update#tasks\",\"id\":23,\"updatedAt\":1515248100}");

            String[] batch = sendRaw(g, fixture("lessy-broadcast-batch.http"));
            assertThat(batch[0]).isEqualTo("HTTP/1.1 201 Created");
            assertThat(c.next("received").get("message").toString()).isEqualTo("{\"action\":\"create#projects\",\"id\":42}");
            assertThat(c.next("received").get("message").toString()).isEqualTo("{\"action\":\"update#projects\",\"id\":42,\"updatedAt\":1515248200}");

            // durably appended: in the log, in room user/23, type broadcast
            var events = g.replayLines("room=user/23");
            assertThat(events).hasSize(3);
            assertThat(events).allSatisfy(e -> assertThat(e.get("type").asText()).isEqualTo("broadcast"));
        }
    }

    @Test
    void badKeyMalformedBodyUnknownStreamAndAnyBadEntryAreRefusedWholeWithClearErrors() throws Exception {
        try (TestGateway g = new TestGateway(dir);
             CableNode c = CableNode.client("rails", g, TestGateway.token("23"))) {
            c.send("subscribe " + NOTIFICATIONS);
            c.next("subscribed");
            String good = publication(STREAM_23, "{\"action\":\"create#tasks\",\"id\":1}");

            assertThat(post(g, null, good).status()).isEqualTo(401);
            TestGateway.Response wrongKey = post(g, "not-a-configured-key-at-all", good);
            assertThat(wrongKey.status()).isEqualTo(401);
            assertThat(wrongKey.json().get("message").asText()).isEqualTo("unknown key");
            assertThat(post(g, TestGateway.AUDIT_KEY, good).status()).as("an audit key may not broadcast").isEqualTo(403);

            TestGateway.Response malformed = post(g, TestGateway.PUBLISH_KEY, "{\"stream\":");
            assertThat(malformed.status()).isEqualTo(422);
            assertThat(malformed.json().get("message").asText()).startsWith("malformed JSON");

            TestGateway.Response unknown = post(g, TestGateway.PUBLISH_KEY, publication("chat_room_1", "{}"));
            assertThat(unknown.status()).isEqualTo(422);
            assertThat(unknown.json().get("error").asText()).isEqualTo("unknown_stream");
            assertThat(unknown.json().get("message").asText()).contains("chat_room_1").contains("notifications");

            TestGateway.Response notJson = post(g, TestGateway.PUBLISH_KEY, publication(STREAM_23, "not json"));
            assertThat(notJson.status()).isEqualTo(422);
            assertThat(notJson.json().get("message").asText()).startsWith("data is not JSON text");

            TestGateway.Response command = post(g, TestGateway.PUBLISH_KEY, "{\"command\":\"disconnect\",\"payload\":{\"identifier\":\"x\"}}");
            assertThat(command.status()).isEqualTo(422);
            assertThat(command.json().get("message").asText()).contains("not supported");

            // one bad entry (the last) refuses the whole batch: nothing is appended
            TestGateway.Response batch = post(g, TestGateway.PUBLISH_KEY, "[" + good + "," + good + "," + publication("nowhere:1", "{}") + "]");
            assertThat(batch.status()).isEqualTo(422);
            assertThat(batch.json().get("message").asText()).startsWith("publication 2: ");

            TestGateway.Response get = g.send(HttpRequest.newBuilder(URI.create(g.http("/_broadcast")))
                    .header("Authorization", "Bearer " + TestGateway.PUBLISH_KEY).GET().build());
            assertThat(get.status()).as("AnyCable answers 422 to anything but POST").isEqualTo(422);

            assertThat(g.replayLines("room=user/23")).as("nothing appended by any refused request").isEmpty();
            // and the gateway still serves: the next good broadcast is the first thing the client gets
            assertThat(post(g, TestGateway.PUBLISH_KEY, publication(STREAM_23, "{\"action\":\"create#tasks\",\"id\":2}")).status()).isEqualTo(201);
            assertThat(c.next("received").get("message").toString()).isEqualTo("{\"action\":\"create#tasks\",\"id\":2}");
        }
    }

    @Test
    void aKeyLimitedToRoomsMayOnlyBroadcastToStreamsOfThoseRooms() throws Exception {
        try (TestGateway g = new TestGateway(dir, c -> c.apiKeys = java.util.List.of(new io.tidings.server.auth.ApiKeys.Spec(
                "user23-app", "user-23-app-key-0123456789", java.util.List.of(io.tidings.server.auth.ApiKeys.Scope.PUBLISH),
                java.util.List.of("user/23"))))) {
            assertThat(post(g, "user-23-app-key-0123456789", publication(STREAM_23, "{}")).status()).isEqualTo(201);
            TestGateway.Response other = post(g, "user-23-app-key-0123456789", publication("notifications:24", "{}"));
            assertThat(other.status()).isEqualTo(403);
            assertThat(other.json().get("message").asText()).contains("user/24");
        }
    }

    @Test
    void disabledWithAnEmptyPath() throws Exception {
        try (TestGateway g = new TestGateway(dir, c -> c.broadcastPath = "")) {
            assertThat(post(g, TestGateway.PUBLISH_KEY, publication(STREAM_23, "{}")).status()).isEqualTo(404);
        }
    }
}
