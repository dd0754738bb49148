package io.tidings.server;

import io.tidings.storage.EventLog;
import io.tidings.storage.LogConfig;
import io.tidings.storage.VerifyReport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code tidings serve} as a real child process: SIGTERM closes WebSockets with 1001 (clients resume
 * elsewhere), the process exits 0, and the log it leaves reopens cleanly with every event.
 */
class ShutdownTest {
    private static final Pattern LISTENING = Pattern.compile("tidings: listening on http://localhost:(\\d+)");

    @TempDir
    Path dir;

    @Test
    void sigtermClosesWebSocketsWith1001ExitsZeroAndLeavesALogThatReopensCleanly() throws Exception {
        Process server = startServer();
        BlockingQueue<String> output = new LinkedBlockingQueue<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line = r.readLine(); line != null; line = r.readLine()) output.add(line);
            } catch (IOException ignored) {
                // process ended
            }
        }, "server-output");
        reader.setDaemon(true);
        reader.start();
        List<String> seen = new ArrayList<>();
        try {
            int port = -1;
            while (port < 0) {
                String line = output.poll(60, TimeUnit.SECONDS);
                if (line == null) throw new AssertionError("server did not start; output: " + seen + ", alive " + server.isAlive());
                seen.add(line);
                Matcher m = LISTENING.matcher(line);
                if (m.find()) port = Integer.parseInt(m.group(1));
            }

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

                // SIGTERM. (Process.destroy() sends it too but also closes our ends of the child's pipes,
                // which would lose what the server prints while shutting down.)
                assertThat(server.toHandle().destroy()).isTrue();
                WsTestClient.Closed closed = c.awaitClose();
                assertThat(closed.code()).isEqualTo(1001);
                assertThat(closed.reason()).contains("resume");
            }
            assertThat(server.waitFor(60, TimeUnit.SECONDS)).as("process exited").isTrue();
            reader.join(5000);
            output.drainTo(seen);
            assertThat(server.exitValue()).as("exit status; output: " + seen).isZero();
            assertThat(seen).anyMatch(l -> l.contains("tidings: shutting down"));
            assertThat(seen).last().asString().contains("tidings: stopped");

            try (EventLog log = EventLog.open(LogConfig.at(dir.resolve("log")))) {
                VerifyReport report = log.verify();
                assertThat(report.healthy()).as(report.damage().toString()).isTrue();
                assertThat(report.scanned()).isEqualTo(1);
                assertThat(log.head().toString()).isEqualTo(offset);
            }
        } finally {
            server.destroyForcibly();
        }
    }

    private Process startServer() throws IOException {
        ProcessBuilder pb = new ProcessBuilder(ChildGateway.command("serve", "--port", "0", "--host", "127.0.0.1",
                "--data-dir", dir.toString())).redirectErrorStream(true);
        ChildGateway.credentials(pb.environment());
        return pb.start();
    }
}
