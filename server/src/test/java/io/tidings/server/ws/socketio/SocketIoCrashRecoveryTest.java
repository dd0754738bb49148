package io.tidings.server.ws.socketio;

import com.fasterxml.jackson.databind.JsonNode;
import io.tidings.server.ChildGateway;
import io.tidings.server.TestGateway;
import io.tidings.server.http.Json;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static io.tidings.server.ws.socketio.SocketIoDriver.is;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The gateway runs in its own JVM and is killed with SIGKILL (no shutdown hook, no clean close of
 * the session store) while a client's session holds rooms; started again on the same data
 * directory, it restores the session and replays what the client missed.
 */
class SocketIoCrashRecoveryTest {
    @TempDir
    Path dir;
    ChildGateway gateway;
    SocketIoDriver d;
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    int port;

    @AfterEach
    void stop() {
        if (d != null) d.close();
        if (gateway != null) gateway.close();
    }

    @Test
    void sessionsSurviveKill9() throws Exception {
        port = ChildGateway.freePort();
        startGateway();
        d = new SocketIoDriver("http://127.0.0.1:" + port);
        String sid = d.connected("a", TestGateway.token("alice", "teamspaceA")).get("sid").asText();
        d.join("a", "{\"account\":\"teamspaceA\"}");
        // "b" stays connected until the crash: its session is still held when the process dies
        String sidB = d.connected("b", TestGateway.token("bob", "teamspaceA")).get("sid").asText();
        d.join("b", "{\"account\":\"teamspaceA\",\"model\":\"m1\"}");
        publish(1);
        d.await("n=1", l -> SocketIoDriver.isEvent(l, "a", "teamspaceA::m1::newIssues"));
        d.await("n=1 on b", l -> SocketIoDriver.isEvent(l, "b", "teamspaceA::m1::newIssues"));
        d.cut("a", true);
        publish(2);
        publish(3);

        gateway.kill(); // SIGKILL
        startGateway();
        publish(4);

        d.mark();
        d.reconnect("a");
        JsonNode again = d.await("reconnect", l -> is(l, "connect", "a"));
        assertThat(again.get("recovered").asBoolean()).isTrue();
        assertThat(again.get("sid").asText()).isEqualTo(sid);
        publish(5);
        d.markAtStart();
        d.await("n=5", l -> SocketIoDriver.isEvent(l, "a", "teamspaceA::m1::newIssues") && l.get("args").get(0).get("n").asInt() == 5);
        List<Integer> ns = new ArrayList<>();
        for (JsonNode l : d.since()) {
            if (SocketIoDriver.isEvent(l, "a", "teamspaceA::m1::newIssues")) ns.add(l.get("args").get(0).get("n").asInt());
        }
        assertThat(ns).containsExactly(1, 2, 3, 4, 5);

        JsonNode b = d.await("b reconnecting by itself", l -> is(l, "connect", "b") && !l.get("sid").asText().isEmpty()
                && l.get("recovered").asBoolean());
        assertThat(b.get("sid").asText()).isEqualTo(sidB);
        d.await("n=5 on b", l -> SocketIoDriver.isEvent(l, "b", "teamspaceA::m1::newIssues") && l.get("args").get(0).get("n").asInt() == 5);
        List<Integer> nb = new ArrayList<>();
        for (JsonNode l : d.since()) {
            if (SocketIoDriver.isEvent(l, "b", "teamspaceA::m1::newIssues")) nb.add(l.get("args").get(0).get("n").asInt());
        }
        assertThat(nb).containsExactly(1, 2, 3, 4, 5);
        assertThat(d.since().stream().filter(l -> is(l, "connect", "b")).map(l -> l.get("recovered").asBoolean()).toList())
                .as("b's connects: the first, then only recovered ones").containsExactly(false, true);
    }

    private void startGateway() throws Exception {
        gateway = new ChildGateway(dir, port, Map.of());
        gateway.start();
    }

    private void publish(int n) throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/events"))
                .header("Authorization", "Bearer " + TestGateway.PUBLISH_KEY)
                .POST(HttpRequest.BodyPublishers.ofString("{\"room\":\"teamspaceA/m1\",\"type\":\"newIssues\",\"data\":{\"n\":" + n + "}}"))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(Json.MAPPER.readTree(r.body()).get("offset").asText()).isNotEmpty();
    }
}
