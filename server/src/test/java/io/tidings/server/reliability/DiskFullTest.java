package io.tidings.server.reliability;

import com.fasterxml.jackson.databind.JsonNode;
import io.tidings.server.ChildGateway;
import io.tidings.server.GatewayConfig;
import io.tidings.server.TestGateway;
import io.tidings.server.WsTestClient;
import io.tidings.server.http.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Scenario 4 (docs/reliability.md): the gateway's log directory is a small tmpfs mounted by the test
 * (skipped, with the reason, where mounting is not permitted). Publishing fills it up to the
 * free-space guard at its real default ({@code minFreeBytes}, 64 MiB); a filler file then takes the
 * rest to 0 bytes free. Publishes get 503 {@code log_unavailable} "disk full", including the ones
 * that would have to create a new roll file (one-second roll: every refused publish is one); no
 * partial event is ever visible (audit replay, {@code tidings log verify}, a live WebSocket client
 * and one that resumes all see exactly the acknowledged events); health, replay and WebSockets keep
 * working; the process never dies (SIGBUS on a full mmap is the danger); deleting the filler lets
 * publishing resume into a new roll file.
 */
class DiskFullTest {
    private static final String ROOM = "disk/r";
    /** Above the guard's default of 64 MiB, so publishing reaches the guard before the filler is needed. */
    private static final long TMPFS_BYTES = 80L << 20;
    private static final int EVENT_BYTES = 16 << 10;
    private static final int BATCH = 16;

    @TempDir
    Path dir;

    @Test
    void publishesFailWith503WithoutAPartialEventAndResumeWhenSpaceIsFreed() throws Exception {
        long started = System.nanoTime();
        Path logDir = Files.createDirectories(dir.resolve("log"));
        mountTmpfs(logDir);
        long minFree = new GatewayConfig().minFreeBytes; // the real default, not 0
        ChildGateway gateway = new ChildGateway(dir, ChildGateway.freePort(), Map.of(
                "TIDINGS_MIN_FREE_BYTES", Long.toString(minFree), "TIDINGS_ROLL_PERIOD", "TEST_SECONDLY"));
        GatewayHttp api = new GatewayHttp(gateway);
        try {
            gateway.start();
            List<String> acked = new ArrayList<>();
            try (WsTestClient live = WsTestClient.connect(gateway.port(), TestGateway.token("dora", ROOM))) {
                live.join(ROOM, live.expect("welcome").get("offset").asText());
                live.await(f -> f.path("op").asText().equals("live"));

                // 1. publish until the guard refuses: batches are all or nothing
                int refusedByPublishing = 0, n = 0;
                while (refusedByPublishing == 0) {
                    List<String> ids = new ArrayList<>();
                    for (int i = 0; i < BATCH; i++) ids.add("e" + n++);
                    HttpResponse<String> r = api.publish(batch(ids));
                    if (r.statusCode() == 200) acked.addAll(ids);
                    else {
                        assertDiskFull(r);
                        refusedByPublishing++;
                    }
                    assertThat(n).as("the guard refused before %d events", n).isLessThan(10_000);
                }
                assertThat(free(logDir)).as("the guard refuses at its default %d bytes free", minFree).isLessThan(minFree + BATCH * EVENT_BYTES * 2L);

                // 2. another process takes the rest: 0 bytes free
                Path fill = logDir.resolve("filler.bin");
                fillUp(fill);
                assertThat(free(logDir)).isZero();
                WsTestClient.eventually(() -> api.status("/readyz") == 503);
                assertThat(api.status("/healthz")).isEqualTo(200);
                int cq4Before = cq4Files(logDir);
                int refusedWhenFull = 0;
                for (int i = 0; i < 6; i++) {
                    Thread.sleep(400); // a new second: the next append would have to create a new roll file
                    HttpResponse<String> r = api.publish(i % 2 == 0 ? batch(List.of("full-" + i)) : batch(List.of("full-" + i, "full-" + i + "b")));
                    assertDiskFull(r);
                    refusedWhenFull++;
                }
                assertThat(cq4Files(logDir)).as("no roll file created on a full disk").isEqualTo(cq4Before);
                assertThat(gateway.isAlive()).isTrue();

                // 3. nothing partial visible anywhere; others still served
                assertThat(ids(api.replay(ROOM))).as("audit replay on a full disk").containsExactlyElementsOf(acked);
                assertThat(receive(live, acked.size())).as("the live client").containsExactlyElementsOf(acked);
                try (WsTestClient resumed = WsTestClient.connect(gateway.port(), TestGateway.token("eve", ROOM))) {
                    resumed.expect("welcome");
                    resumed.join(ROOM, api.replay(ROOM).get(0).get("offset").asText());
                    assertThat(receive(resumed, acked.size() - 1)).as("a client resuming on a full disk")
                            .containsExactlyElementsOf(acked.subList(1, acked.size()));
                }
                assertVerifiesHealthy(dir, acked.size());

                // 4. space freed: readiness and publishing come back, into a new roll file
                Files.delete(fill);
                WsTestClient.eventually(() -> api.status("/readyz") == 200);
                HttpResponse<String> r = api.publish(batch(List.of("after")));
                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                acked.add("after");
                assertThat(receive(live, 1)).containsExactly("after");
                assertThat(cq4Files(logDir)).as("the publish after freeing space rolled to a new file").isGreaterThan(cq4Before);
                assertThat(ids(api.replay(ROOM))).containsExactlyElementsOf(acked);
                assertThat(gateway.isAlive()).isTrue();

                Scale.report("disk-full", String.format("tmpfs_mib=%d min_free_bytes=%d event_bytes=%d acked=%d refused_by_guard=%d "
                                + "refused_at_0_bytes_free=%d partial_events=0 lost=0 crashes=0 duration_s=%d load=%.1f",
                        TMPFS_BYTES >> 20, minFree, EVENT_BYTES, acked.size(), refusedByPublishing, refusedWhenFull,
                        (System.nanoTime() - started) / 1_000_000_000L,
                        java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage()));
            }
            gateway.kill();
            assertVerifiesHealthy(dir, acked.size());
        } finally {
            gateway.close();
            run("umount", "-l", logDir.toString());
        }
    }

    /** Mounts a {@value #TMPFS_BYTES}-byte tmpfs on {@code at}, or skips the test saying why it cannot. */
    private static void mountTmpfs(Path at) throws Exception {
        assumeTrue(System.getProperty("os.name").startsWith("Linux"), "a tmpfs needs Linux; this is " + System.getProperty("os.name"));
        String[] result = run("mount", "-t", "tmpfs", "-o", "size=" + TMPFS_BYTES, "tidings-disk-full", at.toString());
        assumeTrue(result[0].equals("0"), "cannot mount a tmpfs for the log directory (needs root or CAP_SYS_ADMIN): exit "
                + result[0] + ", " + result[1]);
    }

    /** Runs a command; {exit code, output}. */
    private static String[] run(String... command) throws Exception {
        Process p;
        try {
            p = new ProcessBuilder(command).redirectErrorStream(true).start();
        } catch (IOException e) {
            return new String[] {"-1", e.toString()};
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        return new String[] {Integer.toString(p.waitFor(30, TimeUnit.SECONDS) ? p.exitValue() : -1), out};
    }

    private static String batch(List<String> ids) {
        String pad = "x".repeat(EVENT_BYTES);
        StringBuilder b = new StringBuilder("[");
        for (String id : ids) {
            if (b.length() > 1) b.append(',');
            b.append("{\"room\":\"").append(ROOM).append("\",\"type\":\"t\",\"id\":\"").append(id)
                    .append("\",\"data\":{\"id\":\"").append(id).append("\",\"pad\":\"").append(pad).append("\"}}");
        }
        return b.append(']').toString();
    }

    private static void assertDiskFull(HttpResponse<String> r) throws IOException {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(503);
        JsonNode error = Json.MAPPER.readTree(r.body());
        assertThat(error.path("error").asText()).isEqualTo("log_unavailable");
        assertThat(error.path("message").asText()).contains("disk full");
    }

    /** Writes {@code file} until the file system has no byte left. */
    private static void fillUp(Path file) throws IOException {
        ByteBuffer chunk = ByteBuffer.allocate(1 << 16);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            while (true) {
                chunk.clear();
                ch.write(chunk);
            }
        } catch (IOException e) {
            if (!String.valueOf(e.getMessage()).contains("No space left")) throw e;
        }
        // the last partial page may still fit byte by byte
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.APPEND)) {
            while (true) ch.write(ByteBuffer.allocate(1));
        } catch (IOException e) {
            if (!String.valueOf(e.getMessage()).contains("No space left")) throw e;
        }
    }

    private static long free(Path dir) throws IOException {
        return Files.getFileStore(dir).getUsableSpace();
    }

    private static int cq4Files(Path logDir) throws IOException {
        try (Stream<Path> files = Files.list(logDir)) {
            return (int) files.filter(p -> p.toString().endsWith(".cq4")).count();
        }
    }

    private static List<String> ids(List<JsonNode> events) {
        return events.stream().map(e -> e.at("/data/id").asText()).toList();
    }

    /** The ids of the next {@code n} events the client receives. */
    private static List<String> receive(WsTestClient c, int n) {
        List<String> ids = new ArrayList<>(n);
        while (ids.size() < n) ids.add(c.await(f -> f.path("op").asText().equals("event")).at("/data/id").asText());
        return ids;
    }

    /** {@code tidings log verify} (read-only, beside a running gateway or after it): healthy, every event scanned. */
    private static void assertVerifiesHealthy(Path dataDir, int events) throws Exception {
        String[] result = run(ChildGateway.command("log", "verify", "--data-dir", dataDir.toString(), "--no-progress").toArray(String[]::new));
        assertThat(result[0]).as(result[1]).isEqualTo("0");
        assertThat(result[1]).contains("status:  healthy").contains("scanned: " + events);
    }
}
