package io.tidings.server.reliability;

import io.tidings.server.GatewayProcess;
import io.tidings.server.TestGateway;
import io.tidings.server.WsTestClient;
import io.tidings.server.http.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Reliability scenario 7 (docs/reliability.md, "Soak"): a gateway child process under mixed load for
 * a fixed time — a publisher, subscribers on every protocol that connect, join (some resuming from an
 * offset), read and drop their connections (closing or aborting), audit replays — with log files
 * rolling every second and retention deleting them after 20 s, so a leaked mapping or file handle
 * would pile up visibly. Every few seconds the process is sampled after a full GC: heap and direct
 * memory (/metrics), live threads (/proc/pid/status), open file descriptors (/proc/pid/fd) and
 * mapped log files (.cq4 in /proc/pid/maps). After a warm-up (the first quarter of the samples), the
 * mean of the last third of the samples may exceed the mean of the first third only by the
 * tolerances in {@link #GROWTH}. Canaries on every protocol must receive every canary event once and
 * in order throughout; the gateway must print no error or stack trace.
 *
 * <p>{@code ops/reliability/run.sh soak [--long] [--seed N]}; knobs {@code soakSeconds} (100 / 3600),
 * {@code soakSampleSeconds} (5 / 10). Samples go to target/reliability/soak-samples.csv.
 */
class SoakTest {
    /** Allowed growth, last third vs first third: {metric, factor, plus absolute slack}. */
    private static final Object[][] GROWTH = {
            {"heapBytes", 1.25, 16L << 20},
            {"directBytes", 1.25, 8L << 20},
            {"threads", 1.0, 8L},
            {"fds", 1.0, 32L},
            {"mappedLogFiles", 1.0, 4L},
    };
    private static final List<String> ROOMS = List.of("soak/r0", "soak/r1", "soak/r2", "soak/r3", "soak/r4");

    @TempDir
    Path dir;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final List<String> loadErrors = new CopyOnWriteArrayList<>();
    private final AtomicLong published = new AtomicLong(), churned = new AtomicLong(), replays = new AtomicLong();
    private volatile boolean stop;
    private int port;

    /** One sample of the gateway process. */
    record Sample(long atMs, long heapBytes, long directBytes, long threads, long fds, long mappedLogFiles) {
        long get(String metric) {
            return switch (metric) {
                case "heapBytes" -> heapBytes;
                case "directBytes" -> directBytes;
                case "threads" -> threads;
                case "fds" -> fds;
                default -> mappedLogFiles;
            };
        }
    }

    @Test
    void aGatewayUnderMixedLoadAndChurnDoesNotGrowAndDeliversEveryCanaryEventOnce() throws Exception {
        int seconds = Scale.pick("soakSeconds", 100, 3600);
        int every = Scale.pick("soakSampleSeconds", 5, 10); // < Engine.IO's ping timeout: the Socket.IO canary answers pings when read
        Random seeds = new Random(Scale.seed());
        try (GatewayProcess gw = new GatewayProcess(dir, Map.of("rollPeriod", "TEST_SECONDLY", "retentionMaxAgeMs", "20000"))) {
            port = gw.port();
            List<Canary> canaries = Canary.everyProtocol("ws://127.0.0.1:" + port, "soak-canary");
            List<Thread> load = List.of(
                    thread("publisher", seeds.nextLong(), this::publishSome),
                    thread("native-churn", seeds.nextLong(), this::nativeChurn),
                    thread("socketio-churn", seeds.nextLong(), this::socketIoChurn),
                    thread("cable-churn", seeds.nextLong(), this::cableChurn),
                    thread("auditor", seeds.nextLong(), this::auditReplay));
            List<Sample> samples = new ArrayList<>();
            long start = System.currentTimeMillis();
            int canaryEvents = 0;
            try {
                while (System.currentTimeMillis() - start < seconds * 1000L) {
                    Thread.sleep(every * 1000L);
                    post("{\"room\":\"user/soak-canary\",\"type\":\"c\",\"data\":{\"i\":" + canaryEvents++ + "}}");
                    for (Canary c : canaries) c.awaitSequence(canaryEvents);
                    samples.add(sample(gw.pid(), System.currentTimeMillis() - start));
                }
            } finally {
                stop = true;
                for (Thread t : load) t.join(30_000);
                canaries.forEach(Canary::close);
            }
            writeSamples(samples);

            assertThat(loadErrors).as("seed %d: errors the load clients met", Scale.seed()).isEmpty();
            List<String> problems = gw.output().stream().filter(l -> l.startsWith("SEVERE") || l.startsWith("ERROR") || l.startsWith("\tat ")).toList();
            assertThat(problems).as("errors and stack traces printed by the gateway").isEmpty();
            assertThat(published.get()).as("events published").isPositive();
            assertThat(churned.get()).as("connections churned").isPositive();

            List<Sample> steady = samples.subList(samples.size() / 4, samples.size());
            int third = steady.size() / 3;
            assertThat(third).as("samples after the warm-up").isPositive();
            StringBuilder growth = new StringBuilder();
            for (Object[] g : GROWTH) {
                String metric = (String) g[0];
                double first = mean(steady.subList(0, third), metric), last = mean(steady.subList(steady.size() - third, steady.size()), metric);
                double allowed = first * (double) g[1] + (long) g[2];
                growth.append(String.format(" %s %.0f→%.0f (allowed %.0f)", metric, first, last, allowed));
                assertThat(last).as("%s grew: first third %.0f, last third %.0f; samples in target/reliability/soak-samples.csv", metric, first, last)
                        .isLessThanOrEqualTo(allowed);
            }
            Scale.report("soak", String.format("seconds=%d samples=%d published=%d churnedConnections=%d auditReplays=%d canaryEvents=%d×%d protocols "
                            + "(all once, in order) lost=0 gatewayErrors=0 growth(first→last third):%s",
                    seconds, samples.size(), published.get(), churned.get(), replays.get(), canaryEvents, canaries.size(), growth));
        }
    }

    // ---- load -----------------------------------------------------------------------------------

    private interface Step {
        void run(Random rnd) throws Exception;
    }

    private Thread thread(String name, long seed, Step step) {
        Thread t = new Thread(() -> {
            Random rnd = new Random(seed);
            while (!stop) {
                try {
                    step.run(rnd);
                } catch (Exception | AssertionError e) {
                    if (!stop) loadErrors.add(name + ": " + e);
                }
            }
        }, "soak-" + name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    private void publishSome(Random rnd) throws Exception {
        StringBuilder body = new StringBuilder();
        for (int i = 0; i < 5; i++) {
            body.append("{\"room\":\"").append(ROOMS.get(rnd.nextInt(ROOMS.size()))).append("/m").append(rnd.nextInt(3))
                    .append("\",\"type\":\"t\",\"data\":{\"n\":").append(published.incrementAndGet()).append("}}\n");
        }
        post(body.toString());
        Thread.sleep(20);
    }

    /** Connect, join (live or resuming from the welcome offset), read one event, then close or abort. */
    private void nativeChurn(Random rnd) throws Exception {
        WsTestClient ws = WsTestClient.connect(URI.create("ws://127.0.0.1:" + port + "/v1/ws"), Map.of("Authorization", "Bearer " + TestGateway.token("soaker", "soak")));
        try {
            String welcome = ws.nextText();
            String after = Json.MAPPER.readTree(welcome).get("offset").asText();
            String room = ROOMS.get(rnd.nextInt(ROOMS.size()));
            ws.send("{\"op\":\"join\",\"room\":\"" + room + "\"" + (rnd.nextBoolean() ? ",\"after\":\"" + after + "\"" : "") + "}");
            ws.awaitLine(l -> l.startsWith("frame {\"op\":\"event\""));
        } finally {
            end(ws, rnd);
        }
    }

    private void socketIoChurn(Random rnd) throws Exception {
        WsTestClient ws = WsTestClient.connect(URI.create("ws://127.0.0.1:" + port + "/socket.io/?EIO=4&transport=websocket"), Map.of());
        try {
            ws.nextText();
            ws.send("40{\"token\":" + Json.quote(TestGateway.token("soaker", "soak")) + "}");
            ws.nextText();
            ws.send("42[\"join\",{\"account\":\"soak\",\"model\":\"r" + rnd.nextInt(ROOMS.size()) + "\"}]");
            ws.awaitLine(l -> l.startsWith("frame 42[\"soak::"));
        } finally {
            end(ws, rnd);
        }
    }

    private void cableChurn(Random rnd) throws Exception {
        WsTestClient ws = WsTestClient.connect(URI.create("ws://127.0.0.1:" + port + "/cable"), Map.of("Cookie", "Authorization=" + TestGateway.token("soaker", "soak")),
                "actioncable-v1-json");
        try {
            ws.nextNonPingLine();
            ws.send("{\"command\":\"subscribe\",\"identifier\":" + Json.quote("{\"channel\":\"NotificationsChannel\"}") + "}");
            ws.awaitLine(l -> l.contains("confirm_subscription"));
            post("{\"room\":\"user/soaker\",\"type\":\"t\",\"data\":{\"cable\":" + rnd.nextInt(1000) + "}}");
            ws.awaitLine(l -> l.contains("\"message\":{\"cable\""));
        } finally {
            end(ws, rnd);
        }
    }

    /** Half the connections end with a close handshake (close() sends a close frame, then drops the connection), half are dropped. */
    private void end(WsTestClient ws, Random rnd) {
        if (rnd.nextBoolean()) ws.close();
        else ws.abort();
        churned.incrementAndGet();
    }

    private void auditReplay(Random rnd) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/events?room="
                        + ROOMS.get(rnd.nextInt(ROOMS.size())) + "&limit=" + (1 + rnd.nextInt(500))))
                .header("Authorization", "Bearer " + TestGateway.AUDIT_KEY).GET().build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) throw new AssertionError("audit replay answered " + r.statusCode() + ": " + r.body());
        for (String line : r.body().split("\n")) if (!line.isBlank()) Json.MAPPER.readTree(line);
        replays.incrementAndGet();
        Thread.sleep(200);
    }

    private void post(String body) throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/events"))
                .header("Authorization", "Bearer " + TestGateway.PUBLISH_KEY).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) throw new AssertionError("publish answered " + r.statusCode() + ": " + r.body());
    }

    // ---- sampling -------------------------------------------------------------------------------

    private Sample sample(long pid, long atMs) throws Exception {
        Process gc = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(), Long.toString(pid), "GC.run")
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        if (!gc.waitFor(60, TimeUnit.SECONDS)) throw new AssertionError("jcmd GC.run did not finish");
        String metrics = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).GET().build(),
                HttpResponse.BodyHandlers.ofString()).body();
        long threads = Files.readAllLines(Path.of("/proc", Long.toString(pid), "status")).stream()
                .filter(l -> l.startsWith("Threads:")).mapToLong(l -> Long.parseLong(l.substring(8).trim())).sum();
        long fds;
        try (Stream<Path> s = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
            fds = s.count();
        }
        Set<String> mapped = new HashSet<>();
        for (String l : Files.readAllLines(Path.of("/proc", Long.toString(pid), "maps"))) {
            if (l.endsWith(".cq4")) mapped.add(l.substring(l.lastIndexOf(' ') + 1));
        }
        return new Sample(atMs, sum(metrics, "jvm_memory_used_bytes", "area=\"heap\""), sum(metrics, "jvm_buffer_memory_used_bytes", "id=\"direct\""),
                threads, fds, mapped.size());
    }

    /** The sum of the values of {@code name}'s series whose labels contain {@code label}. */
    private static long sum(String metrics, String name, String label) {
        double total = 0;
        boolean found = false;
        for (String line : metrics.split("\n")) {
            if (line.startsWith(name + "{") && line.contains(label)) {
                total += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                found = true;
            }
        }
        if (!found) throw new AssertionError("no " + name + "{" + label + "} in /metrics");
        return (long) total;
    }

    private static double mean(List<Sample> samples, String metric) {
        return samples.stream().mapToLong(s -> s.get(metric)).average().orElseThrow();
    }

    private static void writeSamples(List<Sample> samples) throws IOException {
        StringBuilder csv = new StringBuilder("seconds,heapBytes,directBytes,threads,fds,mappedLogFiles\n");
        for (Sample s : samples) {
            csv.append(s.atMs() / 1000).append(',').append(s.heapBytes()).append(',').append(s.directBytes()).append(',')
                    .append(s.threads()).append(',').append(s.fds()).append(',').append(s.mappedLogFiles()).append('\n');
        }
        Files.writeString(Files.createDirectories(Path.of("target", "reliability")).resolve("soak-samples.csv"), csv);
    }
}
