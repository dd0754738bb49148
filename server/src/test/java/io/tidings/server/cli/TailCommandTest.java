package io.tidings.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.tidings.server.TestGateway;
import io.tidings.server.http.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code tidings tail} against a real gateway: a replay of many events (which arrive batched, several
 * frames per message) prints one NDJSON line per event, in order, then follows live events; the
 * gateway shutting down ends the command with status 0.
 */
class TailCommandTest {
    @TempDir
    Path dir;

    @Test
    void printsEveryEventAfterTheOffsetOneLineEachThenFollowsLiveEvents() throws Exception {
        PrintStream stdout = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        TestGateway g = new TestGateway(dir);
        try {
            List<String> offsets = new ArrayList<>();
            StringBuilder batch = new StringBuilder();
            for (int i = 0; i < 2000; i++) {
                batch.append("{\"room\":\"teamspaceA/m").append(i % 3).append("\",\"type\":\"t\",\"data\":{\"n\":").append(i).append("}}\n");
            }
            g.publishRaw(batch.toString()).json().get("offsets").forEach(o -> offsets.add(o.asText()));

            System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
            CompletableFuture<Integer> status = CompletableFuture.supplyAsync(() -> new CommandLine(new TailCommand()).execute(
                    "--url", g.ws("/v1/ws"), "--token", TestGateway.token("alice", "teamspaceA"),
                    "--room", "teamspaceA", "--after", offsets.get(0), "--events-only"));
            List<String> expected = new ArrayList<>(offsets.subList(1, offsets.size()));
            awaitLines(captured, expected.size());
            expected.add(g.publish("teamspaceA/m9", "t", "{\"live\":true}"));
            List<JsonNode> printed = awaitLines(captured, expected.size());

            assertThat(printed).extracting(e -> e.get("op").asText()).containsOnly("event");
            assertThat(printed).extracting(e -> e.get("offset").asText()).as("every event after the offset, once, in order, then the live one")
                    .isEqualTo(expected);
            g.close();
            assertThat(status.get(30, TimeUnit.SECONDS)).as("exit status after the gateway went away (1001)").isZero();
        } finally {
            System.setOut(stdout);
            g.close();
        }
    }

    /** Waits until stdout holds {@code n} complete lines and parses them (each must be one JSON object). */
    private static List<JsonNode> awaitLines(ByteArrayOutputStream out, int n) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            String text = out.toString(StandardCharsets.UTF_8);
            String[] lines = text.isEmpty() ? new String[0] : text.split("\n");
            int complete = text.endsWith("\n") ? lines.length : lines.length - 1;
            if (complete >= n) {
                List<JsonNode> parsed = new ArrayList<>();
                for (int i = 0; i < complete; i++) parsed.add(Json.MAPPER.readTree(lines[i]));
                return parsed;
            }
            if (System.nanoTime() > deadline) throw new AssertionError("printed " + complete + " lines of " + n);
            Thread.sleep(20);
        }
    }
}
