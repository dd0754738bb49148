package io.tidings.server.sse;

import io.tidings.server.ChildGateway;
import io.tidings.server.NodeScript;
import io.tidings.server.http.Json;
import io.tidings.server.TestGateway;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Real {@code EventSource}s on {@code GET /v1/sse}, each a separate process: the npm
 * {@code eventsource} package (the WHATWG EventSource for Node) and headless Chromium's own: across a gateway restart it reconnects on its own, sends the
 * {@code Last-Event-ID} it kept, and gets what was published while it was away exactly once, in
 * order, with no code of the application's; and the same when the connection is cut (the gateway
 * process SIGKILLed: no close message, no FIN from a clean shutdown) and the gateway comes back.
 */
class SseEventSourceTest {
    private static final long WAIT = 30;

    @TempDir
    Path dir;

    /** The id of the next message line of {@code event}, skipping the others. */
    private static String next(NodeScript es, String event) throws InterruptedException {
        String line = es.awaitLine(event + " ", WAIT);
        return line.split(" ", 3)[1];
    }

    @ParameterizedTest
    @ValueSource(strings = {"sse/client.mjs", "sse/browser.js"})
    void anEventSourceResumesOnItsOwnAcrossAGatewayRestartWithNoGapAndNoDuplicate(String client) throws Exception {
        try (TestGateway g = new TestGateway(dir);
             NodeScript es = NodeScript.start(client,
                     g.http("/v1/sse?room=teamspaceA&room=user/alice&token=" + TestGateway.token("alice", "teamspaceA", "user/alice")))) {
            es.awaitLine("ready", WAIT);
            String welcome = next(es, "welcome");
            es.awaitLine("live ", WAIT);
            es.awaitLine("live ", WAIT);
            List<String> published = new ArrayList<>(), received = new ArrayList<>();
            published.add(g.publish("teamspaceA/m1", "newIssues", "{\"n\":1}"));
            published.add(g.publish("user/alice", "update", "{\"n\":2}"));
            received.add(next(es, "message"));
            received.add(next(es, "message"));

            g.restart(); // graceful: the stream ends with `close` (going_away); the EventSource retries after `retry:`
            assertThat(es.awaitLine("close ", WAIT)).contains("\"reason\":\"going_away\"");
            published.add(g.publish("teamspaceA/m2", "newIssues", "{\"n\":3}")); // before it is back
            g.publish("other/room", "t", "{\"n\":0}"); // not one of its rooms
            published.add(g.publish("user/alice", "update", "{\"n\":4}"));

            String resumedFrom = next(es, "welcome");
            assertThat(resumedFrom).as("it reconnected with the last id it had").isEqualTo(received.get(1)).isNotEqualTo(welcome);
            received.add(next(es, "message"));
            received.add(next(es, "message"));
            es.awaitLine("live ", WAIT);
            published.add(g.publish("teamspaceA", "t", "{\"n\":5}"));
            received.add(next(es, "message"));
            assertThat(received).containsExactlyElementsOf(published);
            es.send("exit");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"sse/client.mjs", "sse/browser.js"})
    void anEventSourceCutOffByAKilledGatewayResumesWhenItIsBackWithNoGapAndNoDuplicate(String client) throws Exception {
        Map<String, String> env = new HashMap<>();
        try (ChildGateway g = new ChildGateway(dir, ChildGateway.freePort(), env)) {
            g.start();
            try (NodeScript es = NodeScript.start(client,
                    g.url("/v1/sse?room=teamspaceA&token=" + TestGateway.token("alice", "teamspaceA")))) {
                es.awaitLine("ready", WAIT);
                next(es, "welcome");
                es.awaitLine("live ", WAIT);
                List<String> published = new ArrayList<>(), received = new ArrayList<>();
                published.add(publish(g, "teamspaceA/m1", 1));
                received.add(next(es, "message"));

                g.kill(); // SIGKILL: the stream is cut, the EventSource retries every `retry` ms
                es.awaitLine("error ", WAIT);
                g.start();
                published.add(publish(g, "teamspaceA/m2", 2)); // it may be back already or not: either way once
                published.add(publish(g, "teamspaceA/m3", 3));
                String resumedFrom = next(es, "welcome");
                assertThat(resumedFrom).as("it reconnected with the last id it had").isEqualTo(received.get(0));
                received.add(next(es, "message"));
                received.add(next(es, "message"));
                published.add(publish(g, "teamspaceA", 4));
                received.add(next(es, "message"));
                assertThat(received).containsExactlyElementsOf(published);
                es.send("exit");
            }
        }
    }

    private static String publish(ChildGateway g, String room, int n) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(g.url("/v1/events")))
                .header("Authorization", "Bearer " + TestGateway.PUBLISH_KEY)
                .POST(HttpRequest.BodyPublishers.ofString("{\"room\":\"" + room + "\",\"type\":\"t\",\"data\":{\"n\":" + n + "}}"))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return Json.MAPPER.readTree(r.body()).get("offset").asText();
    }
}
