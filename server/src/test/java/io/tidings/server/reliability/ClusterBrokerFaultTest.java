package io.tidings.server.reliability;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.tidings.kafka.testkit.KafkaTestCluster;
import io.tidings.server.ChildGateway;
import io.tidings.server.TestGateway;
import io.tidings.server.WsTestClient;
import io.tidings.server.http.Json;
import io.tidings.storage.Offset;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kafka broker faults seen through the gateway (issue 15, items 1 and 8): two gateway nodes as child
 * processes on three real KRaft brokers (one broker cluster for the class), real HTTP publishers,
 * native WebSocket subscribers. Brokers are SIGKILLed, not mocked.
 *
 * <ul>
 *   <li>A broker majority down: a publish answers 503 within {@code kafkaProduceTimeoutMs}, a batch is
 *       never partly in the log, subscribers stay connected with what they had; when the brokers
 *       return, publishes succeed and a 503'd publish retried with the same id is one event, also
 *       when Kafka committed the first attempt late (its leader kept the record; the followers
 *       copied it on their return).</li>
 *   <li>The partition leader killed under publish load: 0 acknowledged events lost or duplicated,
 *       publishes resume after the election (the gap is reported).</li>
 * </ul>
 */
class ClusterBrokerFaultTest {
    private static final String ROOM = "faults/r";
    private static final long PRODUCE_TIMEOUT_MS = 3_000;
    private static KafkaTestCluster kafka;

    @TempDir
    Path dir;

    @BeforeAll
    static void startKafka() {
        kafka = KafkaTestCluster.start(3);
    }

    @AfterAll
    static void stopKafka() {
        if (kafka != null) kafka.close();
    }

    private ChildGateway node(String topic, String name) {
        return new ChildGateway(dir.resolve(name), ChildGateway.freePort(), Map.of("TIDINGS_LOG", "kafka",
                "TIDINGS_KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrapServers(), "TIDINGS_KAFKA_TOPIC", topic,
                "TIDINGS_KAFKA_PRODUCE_TIMEOUT_MS", String.valueOf(PRODUCE_TIMEOUT_MS)));
    }

    @Test
    void aBrokerMajorityDownAnswers503QuicklyAndARetriedIdIsOneEventWhenItReturns() throws Exception {
        String topic = kafka.newTopic("faults");
        try (ChildGateway a = node(topic, "a"); ChildGateway b = node(topic, "b")) {
            a.start();
            b.start();
            GatewayHttp onA = new GatewayHttp(a);
            GatewayHttp onB = new GatewayHttp(b);
            Map<String, List<Long>> published = new ConcurrentHashMap<>();
            String epoch = Offset.parse(acked(onB.publishUntilAcked("before", ROOM), published)).epoch();
            NativeResumingClient subscriber = subscriber("sub", a, epoch);
            Thread reader = new Thread(subscriber, "sub");
            reader.start();
            WsTestClient.eventually(() -> subscriber.subscribed && subscriber.sequences.matches(published));

            int leader = kafka.leaderOf(topic, 0);
            List<Integer> majority = kafka.nodeIds().stream().filter(id -> id != leader).toList();
            for (int id : majority) kafka.kill(id);
            // the leader alone: it takes records but cannot commit them (acks=all, ISR still 3, no controller quorum)
            long t0 = System.nanoTime();
            HttpResponse<String> single = onA.publish(GatewayHttp.eventBody("retry-me", ROOM));
            long singleMs = millisSince(t0);
            String batchBody = GatewayHttp.eventBody("batch-0", ROOM) + "\n" + GatewayHttp.eventBody("batch-1", ROOM);
            t0 = System.nanoTime();
            HttpResponse<String> batch = onB.publish(batchBody);
            long batchMs = millisSince(t0);
            t0 = System.nanoTime();
            HttpResponse<String> anonymous = onA.publish("{\"room\":\"" + ROOM + "\",\"type\":\"t\",\"data\":{\"id\":\"no-id\"}}");
            long anonymousMs = millisSince(t0);
            for (HttpResponse<String> r : List.of(single, batch, anonymous)) {
                assertThat(r.statusCode()).as(r.body()).isEqualTo(503);
                assertThat(Json.MAPPER.readTree(r.body()).get("error").asText()).isEqualTo("log_unavailable");
            }
            // subscribers keep their connection and what they had; audit replay still answers from the replica
            CrashConsumer.pause(500);
            assertThat(subscriber.connections.get()).as("never disconnected").isEqualTo(1);
            assertThat(subscriber.sequences.events()).isEqualTo(1);
            assertThat(onA.replay(ROOM)).hasSize(1);

            long restartedWallMs = System.currentTimeMillis();
            long restartedAt = System.nanoTime();
            for (int id : majority) kafka.restart(id);
            long brokersBackMs = millisSince(restartedAt);
            t0 = System.nanoTime();
            String retried = onB.publishUntilAcked("retry-me", ROOM);
            long firstAckMs = millisSince(t0);
            HttpResponse<String> batchAgain = onA.publish(batchBody);
            while (batchAgain.statusCode() != 200) {
                CrashConsumer.pause(50);
                batchAgain = onA.publish(batchBody);
            }
            String after = onA.publishUntilAcked("after", ROOM);

            // every node's log holds each id exactly once; a batch is whole (one Kafka record)
            List<JsonNode> onNodeA = onA.replay(ROOM);
            assertThat(onB.replay(ROOM)).as("the same on both nodes").isEqualTo(onNodeA);
            Map<String, Integer> copies = new HashMap<>();
            for (JsonNode e : onNodeA) copies.merge(e.get("data").get("id").asText(), 1, Integer::sum);
            assertThat(copies).containsEntry("before", 1).containsEntry("retry-me", 1).containsEntry("batch-0", 1)
                    .containsEntry("batch-1", 1).containsEntry("after", 1);
            assertThat(copies.getOrDefault("no-id", 0)).as("a 503'd publish without id: committed late at most once").isLessThanOrEqualTo(1);
            JsonNode batchAnswer = Json.MAPPER.readTree(batchAgain.body());
            assertThat(kafkaRecord(batchAnswer.get("offsets").get(0).asText()))
                    .as("both events of the batch in one record").isEqualTo(kafkaRecord(batchAnswer.get("offsets").get(1).asText()));
            JsonNode retryMe = find(onNodeA, "retry-me");
            assertThat(retryMe.get("offset").asText()).as("the retry's answer names the one event").isEqualTo(retried);
            // an event's time is its record's timestamp, set when a node sent it: before the restart = the 503'd attempt
            boolean committedLate = java.time.Instant.parse(retryMe.get("time").asText()).toEpochMilli() < restartedWallMs;
            // the subscriber gets exactly the log's events, in order, once: it never saw a 503'd attempt twice
            published.clear();
            for (JsonNode e : onNodeA) acked(e.get("offset").asText(), published);
            WsTestClient.eventually(() -> subscriber.sequences.matches(published));
            subscriber.stop();
            reader.join(10_000);
            assertThat(subscriber.failure).as(subscriber.state()).isNull();
            subscriber.sequences.check(subscriber.name, published);
            Scale.report("cluster", String.format("broker-majority-down produce_timeout_ms=%d 503_single_ms=%d 503_batch_ms=%d"
                            + " 503_no_id_ms=%d brokers_restarted_ms=%d first_ack_after_return_ms=%d retried_id_copies=1"
                            + " first_attempt_committed_late=%s no_id_committed_late=%s subscriber_disconnects=0",
                    PRODUCE_TIMEOUT_MS, singleMs, batchMs, anonymousMs, brokersBackMs, firstAckMs, committedLate,
                    copies.getOrDefault("no-id", 0) == 1));
            assertThat(after).isNotNull();
        }
    }

    @Test
    void thePartitionLeaderKilledUnderPublishLoadLosesAndDuplicatesNothing() throws Exception {
        String topic = kafka.newTopic("faults");
        int publishers = Scale.pick("cluster.publishers", 4, 8);
        long loadMs = Scale.pick("cluster.leader-kill.load-ms", 3_000, 30_000);
        try (ChildGateway a = node(topic, "a"); ChildGateway b = node(topic, "b")) {
            a.start();
            b.start();
            List<GatewayHttp> apis = List.of(new GatewayHttp(a), new GatewayHttp(b));
            Map<String, List<Long>> published = new ConcurrentHashMap<>();
            String epoch = Offset.parse(acked(apis.get(0).publishUntilAcked("warm-up", ROOM), published)).epoch();
            NativeResumingClient onA = subscriber("sub-a", a, epoch);
            NativeResumingClient onB = subscriber("sub-b", b, epoch);
            List<Thread> readers = List.of(new Thread(onA, onA.name), new Thread(onB, onB.name));
            readers.forEach(Thread::start);
            WsTestClient.eventually(() -> onA.subscribed && onB.subscribed);

            AtomicBoolean stop = new AtomicBoolean();
            List<Long> ackedAt = Collections.synchronizedList(new ArrayList<>());
            List<String> ids = Collections.synchronizedList(new ArrayList<>());
            AtomicLong killedAt = new AtomicLong(Long.MAX_VALUE);
            List<Thread> producers = new ArrayList<>();
            for (int p = 0; p < publishers; p++) {
                GatewayHttp api = apis.get(p % 2);
                String prefix = "p" + p + "-";
                Thread t = new Thread(() -> {
                    for (int n = 0; !stop.get(); n++) {
                        String id = prefix + n;
                        acked(api.publishUntilAcked(id, ROOM), published);
                        ids.add(id);
                        ackedAt.add(System.nanoTime());
                    }
                }, "publisher-" + p);
                t.start();
                producers.add(t);
            }
            Thread.sleep(loadMs / 2);
            int leader = kafka.leaderOf(topic, 0);
            killedAt.set(System.nanoTime());
            kafka.kill(leader);
            Thread.sleep(loadMs / 2);
            WsTestClient.eventually(() -> ackedAt.stream().anyMatch(t -> t > killedAt.get() + 1_000_000_000L));
            stop.set(true);
            for (Thread t : producers) t.join(30_000);
            int newLeader = kafka.leaderOf(topic, 0);
            kafka.restart(leader);

            List<Long> times = new ArrayList<>(ackedAt);
            Collections.sort(times);
            long gapMs = 0;
            for (int i = 1; i < times.size(); i++) gapMs = Math.max(gapMs, (times.get(i) - times.get(i - 1)) / 1_000_000);
            long firstAfterKillMs = times.stream().filter(t -> t > killedAt.get()).findFirst()
                    .map(t -> (t - killedAt.get()) / 1_000_000).orElseThrow();
            for (NativeResumingClient c : List.of(onA, onB)) {
                WsTestClient.eventually(() -> c.sequences.matches(published));
                c.stop();
            }
            for (Thread t : readers) t.join(10_000);
            for (NativeResumingClient c : List.of(onA, onB)) {
                assertThat(c.failure).as(c.state()).isNull();
                c.sequences.check(c.name, published);
            }
            for (GatewayHttp api : apis) {
                Map<String, Integer> copies = new HashMap<>();
                for (JsonNode e : api.replay(ROOM)) copies.merge(e.get("data").get("id").asText(), 1, Integer::sum);
                assertThat(copies.values()).as("no event twice in the log").allMatch(n -> n == 1);
                assertThat(copies.keySet()).as("every acknowledged id in the log").containsAll(ids);
            }
            Scale.report("cluster", String.format("leader-kill publishers=%d acked=%d lost=0 duplicated=0 old_leader=%d new_leader=%d"
                            + " first_ack_after_kill_ms=%d longest_ack_gap_ms=%d",
                    publishers, ids.size(), leader, newLeader, firstAfterKillMs, gapMs));
        }
        kafka.awaitInSync(topic, 0);
    }

    private static NativeResumingClient subscriber(String name, ChildGateway node, String epoch) {
        return new NativeResumingClient(name, node::port, TestGateway.token(name, ROOM), epoch, List.of(ROOM));
    }

    /** Records an acknowledged offset of {@link #ROOM} (once) and returns it. */
    private static String acked(String offset, Map<String, List<Long>> published) {
        List<Long> seq = published.computeIfAbsent(ROOM, k -> Collections.synchronizedList(new ArrayList<>()));
        long index = Offset.parse(offset).index();
        synchronized (seq) {
            if (!seq.contains(index)) {
                seq.add(index);
                seq.sort(null);
            }
        }
        return offset;
    }

    private static JsonNode find(List<JsonNode> events, String id) {
        return events.stream().filter(e -> e.get("data").get("id").asText().equals(id)).findFirst().orElseThrow();
    }

    /** The Kafka record an offset's event is in (docs/cluster.md: index = (kafkaOffset + 1) << 16 | position). */
    private static long kafkaRecord(String offset) {
        return (Offset.parse(offset).index() >>> 16) - 1;
    }

    private static long millisSince(long nanos) {
        return (System.nanoTime() - nanos) / 1_000_000;
    }
}
