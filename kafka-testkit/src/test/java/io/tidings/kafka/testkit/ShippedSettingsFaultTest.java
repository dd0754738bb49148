package io.tidings.kafka.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The topic and producer settings docs/operations.md ("Running a cluster") ships — one partition,
 * replication factor 3, {@code min.insync.replicas=2}, unclean leader election off; an idempotent
 * producer with {@code acks=all} — against real broker faults (SIGKILL, SIGTERM of real processes):
 * the Kafka half of issue 15's fault list. The gateway half (a gateway node killed, publishes through
 * the gateway) needs the cluster log engine and is not here.
 *
 * <p>Every record carries a unique id; "acknowledged" means the producer's callback reported an
 * offset. The check reads the whole partition back and compares.
 */
class ShippedSettingsFaultTest {
    private static final Duration DELIVERY_TIMEOUT = Duration.ofSeconds(10);
    /** Faults per scenario: 1 in `mvn verify`, 10 with ops/reliability/run.sh cluster --long; -Dtidings.reliability.cluster.rounds wins. */
    private static final int ROUNDS = Integer.getInteger("tidings.reliability.cluster.rounds",
            "long".equals(System.getProperty("tidings.reliability.scale")) ? 10 : 1);
    private static KafkaTestCluster kafka;

    @BeforeAll
    static void cluster() {
        kafka = KafkaTestCluster.start(3);
    }

    @AfterAll
    static void close() {
        if (kafka != null) kafka.close();
    }

    @Test
    void killingThePartitionLeaderUnderLoadLosesAndDuplicatesNothingAcknowledged() throws Exception {
        String topic = "leader-kill";
        List<Long> resumedAfterMs = new ArrayList<>();
        try (Load load = Load.onNewTopic(topic, 2_000)) {
            for (int round = 0; round < ROUNDS; round++) {
                int leader = kafka.leaderOf(topic, 0);
                long killedAt = System.nanoTime();
                kafka.kill(leader);
                resumedAfterMs.add(load.awaitAckAfter(killedAt));
                assertThat(kafka.leaderOf(topic, 0)).as("the new leader").isNotEqualTo(leader).isPositive();
                load.awaitAcked(load.acked.size() + 2_000);
                kafka.restart(leader);
                kafka.awaitInSync(topic, 0);
            }
            load.stop();
            int inLog = assertLogHoldsEveryAcknowledgedRecordOnce(topic, load);
            System.out.printf("[cluster leader-kill] rounds=%d acked=%d failed=%d in_log=%d lost_acked=0 duplicated=0 "
                            + "first_ack_after_kill_ms=%s (delivery.timeout.ms=%d)%n", ROUNDS, load.acked.size(), load.failed.get(),
                    inLog, resumedAfterMs, DELIVERY_TIMEOUT.toMillis());
        }
    }

    @Test
    void withABrokerMajorityDownNothingIsAcknowledgedAndEverythingResumesWhenTheyReturn() throws Exception {
        String topic = "majority-down";
        List<String> rounds = new ArrayList<>();
        try (Load load = Load.onNewTopic(topic, 1_000)) {
            for (int round = 0; round < ROUNDS; round++) {
                int leader = kafka.leaderOf(topic, 0);
                List<Integer> stopped = kafka.nodeIds().stream().filter(id -> id != leader).toList();
                for (int id : stopped) kafka.stop(id);
                long downAt = System.nanoTime();
                // with one of three replicas left, acks=all + min.insync.replicas=2 refuses every write:
                // the producer's sends fail once their delivery timeout has passed
                long firstFailureMs = load.awaitFailureAfter(downAt);
                Thread.sleep(1_000);
                long restartAt = System.nanoTime();
                for (int id : stopped) kafka.restart(id);
                long backAt = System.nanoTime();
                long resumedAfterMs = load.awaitAckAfter(backAt);
                // from the first refused send until the brokers were started again, nothing was acknowledged
                assertThat(load.ackedBetween(downAt + TimeUnit.MILLISECONDS.toNanos(firstFailureMs), restartAt))
                        .as("acknowledgements while 2 of 3 brokers were down").isZero();
                load.awaitAcked(load.acked.size() + 1_000);
                kafka.awaitInSync(topic, 0);
                rounds.add(String.format("{first_failure_after_stop_ms=%d, restart_ms=%d, first_ack_after_restart_ms=%d}", firstFailureMs,
                        TimeUnit.NANOSECONDS.toMillis(backAt - restartAt), resumedAfterMs));
            }
            load.stop();
            int inLog = assertLogHoldsEveryAcknowledgedRecordOnce(topic, load);
            System.out.printf("[cluster majority-down] rounds=%d acked=%d failed=%d in_log=%d lost_acked=0 duplicated=0 "
                    + "acked_while_down=0 (delivery.timeout.ms=%d) %s%n", ROUNDS, load.acked.size(), load.failed.get(), inLog,
                    DELIVERY_TIMEOUT.toMillis(), rounds);
        }
    }

    /** Reads the partition back: every acknowledged record is there at its offset, no record twice. Returns the records in the log. */
    private static int assertLogHoldsEveryAcknowledgedRecordOnce(String topic, Load load) {
        Map<String, Long> inLog = readAll(topic);
        assertThat(load.acked).as("acknowledged records").isNotEmpty();
        for (Map.Entry<String, Long> a : load.acked.entrySet()) {
            assertThat(inLog.get(a.getKey())).as("acknowledged %s is in the log at its offset", a.getKey()).isEqualTo(a.getValue());
        }
        assertThat(load.duplicates.get()).as("acknowledgements of the same record twice").isZero();
        return inLog.size();
    }

    /** Every record of the topic's partition: id → offset, counting ids seen twice. */
    private static Map<String, Long> readAll(String topic) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        Map<String, Long> out = new HashMap<>();
        List<String> twice = new ArrayList<>();
        TopicPartition tp = new TopicPartition(topic, 0);
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p)) {
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            long end = c.endOffsets(List.of(tp), Duration.ofSeconds(30)).get(tp);
            while (c.position(tp, Duration.ofSeconds(30)) < end) {
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(500))) {
                    if (out.put(r.key(), r.offset()) != null) twice.add(r.key());
                }
            }
        }
        assertThat(twice).as("ids in the log more than once").isEmpty();
        return out;
    }

    /**
     * One producer with the shipped settings sending unique ids as fast as 200 sends in flight allow,
     * on its own thread. Thread-safe: the callbacks run on the producer's I/O thread, the test reads
     * the concurrent maps and counters.
     */
    private static final class Load implements AutoCloseable {
        final Map<String, Long> acked = new ConcurrentHashMap<>();
        final Map<String, Long> sentAt = new ConcurrentHashMap<>();
        final Map<String, Long> ackedAt = new ConcurrentHashMap<>();
        final AtomicInteger failed = new AtomicInteger();
        final AtomicLong lastFailureAt = new AtomicLong();
        final AtomicInteger duplicates = new AtomicInteger();
        private final AtomicBoolean stop = new AtomicBoolean();
        private final Semaphore inFlight = new Semaphore(200);
        private final KafkaProducer<String, String> producer;
        private final String topic;
        private final Thread thread;

        Load(String topic) {
            this.topic = topic;
            Properties p = new Properties();
            p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
            p.put(ProducerConfig.ACKS_CONFIG, "all");
            p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
            p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 3_000);
            p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) DELIVERY_TIMEOUT.toMillis());
            p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 2_000);
            p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
            p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
            producer = new KafkaProducer<>(p);
            thread = new Thread(this::run, "load-" + topic);
        }

        /** Creates the topic with the shipped settings and loads it until {@code warmUp} records are acknowledged. */
        static Load onNewTopic(String topic, int warmUp) throws InterruptedException {
            kafka.createTopic(topic, 3, 2);
            kafka.awaitInSync(topic, 0);
            Load load = new Load(topic);
            load.thread.start();
            load.awaitAcked(warmUp);
            return load;
        }

        private void run() {
            String pad = "x".repeat(180); // ~200-byte records, as in docs/benchmarks.md
            for (long n = 0; !stop.get(); n++) {
                String id = "r" + n;
                try {
                    if (!inFlight.tryAcquire(100, TimeUnit.MILLISECONDS)) {
                        n--;
                        continue;
                    }
                    sentAt.put(id, System.nanoTime());
                    producer.send(new ProducerRecord<>(topic, id, id + " " + pad), (md, e) -> {
                        inFlight.release();
                        if (e != null) {
                            failed.incrementAndGet();
                            lastFailureAt.set(System.nanoTime());
                        } else if (acked.put(id, md.offset()) != null) {
                            duplicates.incrementAndGet();
                        } else {
                            ackedAt.put(id, System.nanoTime());
                        }
                    });
                } catch (InterruptedException e) {
                    return;
                } catch (RuntimeException e) { // metadata unavailable within max.block.ms: the send never started
                    inFlight.release();
                    failed.incrementAndGet();
                    lastFailureAt.set(System.nanoTime());
                }
            }
        }

        void awaitAcked(long count) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (acked.size() < count) {
                assertThat(System.nanoTime()).as("%d records acknowledged within 120 s (have %d)", count, acked.size()).isLessThan(deadline);
                Thread.sleep(20);
            }
        }

        /** Milliseconds from {@code t0} to the first acknowledgement of a record sent after it. */
        long awaitAckAfter(long t0) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (true) {
                long first = ackedAt.entrySet().stream().filter(e -> sentAt.getOrDefault(e.getKey(), 0L) > t0)
                        .mapToLong(Map.Entry::getValue).min().orElse(0);
                if (first > 0) return TimeUnit.NANOSECONDS.toMillis(first - t0);
                assertThat(System.nanoTime()).as("a record sent after the fault acknowledged within 120 s").isLessThan(deadline);
                Thread.sleep(20);
            }
        }

        /** Milliseconds from {@code t0} to the first failed send after it. */
        long awaitFailureAfter(long t0) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (lastFailureAt.get() <= t0) {
                assertThat(System.nanoTime()).as("a send failed within 120 s of the fault").isLessThan(deadline);
                Thread.sleep(20);
            }
            return TimeUnit.NANOSECONDS.toMillis(lastFailureAt.get() - t0);
        }

        /** Acknowledgements that arrived between {@code t0} and {@code t1}. */
        long ackedBetween(long t0, long t1) {
            return ackedAt.values().stream().filter(t -> t > t0 && t < t1).count();
        }

        void stop() throws InterruptedException {
            stop.set(true);
            thread.join(30_000);
            producer.flush();
        }

        @Override
        public void close() throws InterruptedException {
            stop();
            producer.close(Duration.ofSeconds(10));
        }
    }
}
