package io.tidings.server;

import io.tidings.storage.EventLog;
import io.tidings.storage.LogConfig;
import io.tidings.storage.VerifyReport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code tidings serve} as a real child process: SIGTERM closes WebSockets with 1001 (clients resume
 * elsewhere), the process exits 0, and the log it leaves reopens cleanly with every event.
 */
class ShutdownTest {
    @TempDir
    Path dir;

    @Test
    void sigtermClosesWebSocketsWith1001ExitsZeroAndLeavesALogThatReopensCleanly() throws Exception {
        try (GatewayProcess server = new GatewayProcess(dir, Map.of())) {
            int port = server.port();
            String offset;
            try (WsTestClient c = WsTestClient.connect(port, TestGateway.token("erin", "teamspaceA"))) {
                c.expect("welcome");
                c.joinLive("teamspaceA");
                HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/events"))
                        .header("Authorization", "Bearer " + TestGateway.PUBLISH_KEY)
                        .POST(HttpRequest.BodyPublishers.ofString("{\"room\":\"teamspaceA/m1\",\"type\":\"t\",\"data\":{\"n\":1}}")).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(r.statusCode()).isEqualTo(200);
                offset = c.expect("event").get("offset").asText();

                assertThat(server.sigterm()).isTrue();
                WsTestClient.Closed closed = c.awaitClose();
                assertThat(closed.code()).isEqualTo(1001);
                assertThat(closed.reason()).contains("resume");
            }
            assertThat(server.awaitExit(60)).as("process exited").isTrue();
            List<String> seen = server.output();
            assertThat(server.process().exitValue()).as("exit status; output: " + seen).isZero();
            assertThat(seen).anyMatch(l -> l.contains("tidings: shutting down"));
            assertThat(seen).last().asString().contains("tidings: stopped");

            try (EventLog log = EventLog.open(LogConfig.at(dir.resolve("log")))) {
                VerifyReport report = log.verify();
                assertThat(report.healthy()).as(report.damage().toString()).isTrue();
                assertThat(report.scanned()).isEqualTo(1);
                assertThat(log.head().toString()).isEqualTo(offset);
            }
        }
    }
}
