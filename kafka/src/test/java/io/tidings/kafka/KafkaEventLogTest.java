package io.tidings.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tidings.kafka.testkit.KafkaTestCluster;
import io.tidings.storage.Appended;
import io.tidings.storage.Cursor;
import io.tidings.storage.Event;
import io.tidings.storage.Gap;
import io.tidings.storage.GapException;
import io.tidings.storage.LogUnavailableException;
import io.tidings.storage.NewEvent;
import io.tidings.storage.Offset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cluster log against a real three-broker KRaft cluster (shared by the class): two or three
 * {@link KafkaEventLog}s stand for gateway nodes, each with its own replica directory.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class KafkaEventLogTest {
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

    private KafkaEventLog node(String topic, String name) {
        return KafkaEventLog.open(KafkaLogConfig.of(kafka.bootstrapServers(), topic, dir.resolve(name)));
    }

    private static NewEvent event(String room, String text, String producerId) {
        return new NewEvent(List.of(room), "note", ("{\"t\":\"" + text + "\"}").getBytes(StandardCharsets.UTF_8), producerId);
    }

    private static List<Event> readAll(Cursor cursor, int expected) throws InterruptedException {
        List<Event> out = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (out.size() < expected && System.nanoTime() < deadline) {
            Event e = cursor.next(200, TimeUnit.MILLISECONDS);
            if (e != null) out.add(e);
        }
        Event extra = cursor.next(300, TimeUnit.MILLISECONDS);
        if (extra != null) out.add(extra);
        return out;
    }

    private static String text(Event e) {
        return new String(e.data(), StandardCharsets.UTF_8);
    }

    @Test
    @Order(1)
    void everyNodeHoldsEveryEventInOneOrderWithTheSameOffsets() throws Exception {
        String topic = kafka.newTopic("events");
        try (KafkaEventLog a = node(topic, "a"); KafkaEventLog b = node(topic, "b")) {
            assertThat(a.epoch()).isEqualTo(b.epoch());
            ExecutorService pool = Executors.newFixedThreadPool(4);
            List<Future<List<Appended>>> answers = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                KafkaEventLog via = i % 2 == 0 ? a : b;
                int n = i;
                answers.add(pool.submit(() -> via.append(List.of(event("r", n + "-0", null), event("r", n + "-1", null)))));
            }
            List<Offset> acked = new ArrayList<>();
            for (Future<List<Appended>> f : answers) for (Appended x : f.get(60, TimeUnit.SECONDS)) acked.add(x.offset());
            pool.shutdown();

            List<Event> onA = readAll(a.cursorAtStart(), 80);
            List<Event> onB = readAll(b.cursorAtStart(), 80);
            assertThat(onA).hasSize(80);
            assertThat(onA.stream().map(Event::offset).toList()).isEqualTo(onB.stream().map(Event::offset).toList())
                    .containsExactlyInAnyOrderElementsOf(acked).isSorted();
            assertThat(onA.stream().map(KafkaEventLogTest::text).toList())
                    .isEqualTo(onB.stream().map(KafkaEventLogTest::text).toList());
            assertThat(onA.stream().map(Event::timeMillis).toList()).isEqualTo(onB.stream().map(Event::timeMillis).toList());
            // a batch is contiguous: its two events sit next to each other in the one order
            for (int i = 0; i < 80; i += 2) {
                String first = text(onA.get(i));
                assertThat(text(onA.get(i + 1))).isEqualTo(first.replace("-0\"", "-1\""));
            }
            assertThat(a.head()).isEqualTo(b.head()).isEqualTo(onA.get(79).offset());
            assertThat(a.countBetween(onA.get(9).offset(), a.head())).isEqualTo(70);
            assertThat(a.firstAvailable()).isEqualTo(onA.get(0).offset());
        }
    }

    @Test
    @Order(2)
    void aClientResumesOnAnotherNodeFromAnOffsetTheFirstGaveIt() throws Exception {
        String topic = kafka.newTopic("events");
        try (KafkaEventLog a = node(topic, "a"); KafkaEventLog b = node(topic, "b")) {
            List<Appended> first = a.append(List.of(event("r", "1", null), event("r", "2", null), event("r", "3", null)));
            Offset got = first.get(1).offset();
            b.append(event("r", "4", null));
            try (Cursor resumed = b.cursorAfter(got)) {
                List<Event> rest = readAll(resumed, 2);
                assertThat(rest).extracting(KafkaEventLogTest::text).containsExactly("{\"t\":\"3\"}", "{\"t\":\"4\"}");
                assertThat(rest.get(0).offset()).isEqualTo(first.get(2).offset());
            }
            // the other gap reasons keep their meaning
            Offset head = b.head();
            assertThatThrownBy(() -> b.cursorAfter(new Offset(head.epoch(), head.index() + 1)))
                    .isInstanceOf(GapException.class)
                    .satisfies(e -> assertThat(((GapException) e).gap().reason()).isEqualTo(Gap.Reason.AHEAD_OF_HEAD));
            long pastCommitted = KafkaOffsets.index(b.replicaOffset() + 100, 0); // a record Kafka never committed
            assertThatThrownBy(() -> b.check(new Offset(head.epoch(), pastCommitted)))
                    .satisfies(e -> assertThat(((GapException) e).gap().reason()).isEqualTo(Gap.Reason.AHEAD_OF_HEAD));
            assertThatThrownBy(() -> b.cursorAfter(new Offset(head.epoch(), got.index() + 7)))
                    .satisfies(e -> assertThat(((GapException) e).gap().reason()).isEqualTo(Gap.Reason.UNKNOWN_OFFSET));
            assertThatThrownBy(() -> b.cursorAfter(new Offset("zzzzzzzzzzzz", 5)))
                    .satisfies(e -> assertThat(((GapException) e).gap().reason()).isEqualTo(Gap.Reason.OTHER_EPOCH));
        }
    }

    @Test
    @Order(2)
    void aNodeBehindResumesAnOffsetKafkaCommittedAndItHasNotAppliedYet() throws Exception {
        String topic = kafka.newTopic("events");
        try (KafkaEventLog a = node(topic, "a")) {
            Offset last = null;
            for (int batch = 0; batch < 60; batch++) {
                List<NewEvent> events = new ArrayList<>();
                for (int i = 0; i < 1_000; i++) events.add(event("r", batch + "-" + i, null));
                List<Appended> acked = a.append(events);
                last = acked.get(acked.size() - 1).offset();
            }
            // a new node: it rebuilds its replica from Kafka's start, 60,000 events behind node A
            try (KafkaEventLog b = node(topic, "b")) {
                b.check(last); // a client that node A served up to `last` moves to node B now
                Cursor resumed = b.cursorAfter(last);
                assertThat(b.caughtUp()).as("node B had not applied node A's last record yet").isFalse();
                assertThat(resumed.position()).isEqualTo(last);
                List<Appended> after = a.append(List.of(event("r", "after-1", null), event("r", "after-2", null)));
                List<Event> got = readAll(resumed, 2);
                assertThat(got).extracting(KafkaEventLogTest::text).containsExactly("{\"t\":\"after-1\"}", "{\"t\":\"after-2\"}");
                assertThat(got).extracting(Event::offset).containsExactly(after.get(0).offset(), after.get(1).offset());
                resumed.close();
                assertThat(b.caughtUp()).isTrue();
            }
        }
    }

    @Test
    @Order(3)
    void theSameProducerIdOnTwoNodesAtOnceIsOneEventWithOneOffset() throws Exception {
        String topic = kafka.newTopic("events");
        try (KafkaEventLog a = node(topic, "a"); KafkaEventLog b = node(topic, "b")) {
            ExecutorService pool = Executors.newFixedThreadPool(8);
            for (int round = 0; round < 20; round++) {
                String pid = "order-" + round;
                Callable<Appended> onA = () -> a.append(event("r", "a" + pid, pid));
                Callable<Appended> onB = () -> b.append(event("r", "b" + pid, pid));
                Future<Appended> fa = pool.submit(onA);
                Future<Appended> fb = pool.submit(onB);
                Appended ra = fa.get(30, TimeUnit.SECONDS);
                Appended rb = fb.get(30, TimeUnit.SECONDS);
                assertThat(ra.offset()).isEqualTo(rb.offset());
                assertThat(ra.duplicate() ^ rb.duplicate()).as("exactly one of the two was appended").isTrue();
            }
            pool.shutdown();
            List<Event> onA = readAll(a.cursorAtStart(), 20);
            List<Event> onB = readAll(b.cursorAtStart(), 20);
            assertThat(onA).hasSize(20);
            assertThat(onA.stream().map(Event::producerId).distinct().count()).isEqualTo(20);
            assertThat(onA.stream().map(Event::offset).toList()).isEqualTo(onB.stream().map(Event::offset).toList());
            assertThat(onA.stream().map(KafkaEventLogTest::text).toList()).isEqualTo(onB.stream().map(KafkaEventLogTest::text).toList());
        }
    }

    @Test
    @Order(4)
    void auditReplayByTimeAnswersTheSameOnTwoNodes() throws Exception {
        String topic = kafka.newTopic("events");
        try (KafkaEventLog a = node(topic, "a"); KafkaEventLog b = node(topic, "b")) {
            for (int i = 0; i < 5; i++) a.append(event("r", "early" + i, null));
            Thread.sleep(50);
            long cut = System.currentTimeMillis();
            Thread.sleep(50);
            for (int i = 0; i < 5; i++) b.append(event("r", "late" + i, null));
            readAll(a.cursorAtStart(), 10);
            readAll(b.cursorAtStart(), 10);
            List<Event> onA = readAll(a.cursorAtTime(cut), 5);
            List<Event> onB = readAll(b.cursorAtTime(cut), 5);
            assertThat(onA).extracting(KafkaEventLogTest::text).allMatch(t -> t.contains("late")).hasSize(5);
            assertThat(onA.stream().map(Event::offset).toList()).isEqualTo(onB.stream().map(Event::offset).toList());
        }
    }

    @Test
    @Order(5)
    void twoThousandResumingCursorsOpenNoKafkaConsumer() throws Exception {
        String topic = kafka.newTopic("events");
        try (KafkaEventLog a = node(topic, "a")) {
            List<NewEvent> batch = new ArrayList<>();
            for (int i = 0; i < 100; i++) batch.add(event("r", "e" + i, null));
            Offset from = a.append(batch).get(0).offset();
            long consumers = KafkaEventLog.consumersOpened();
            long read = 0;
            for (int c = 0; c < 2_000; c++) {
                try (Cursor cursor = a.cursorAfter(from)) {
                    while (cursor.next() != null) read++;
                }
            }
            assertThat(read).isEqualTo(2_000L * 99);
            assertThat(KafkaEventLog.consumersOpened()).isEqualTo(consumers);
        }
    }

    @Test
    @Order(6)
    void anOffsetBelowKafkasLogStartIsBeforeRetention() throws Exception {
        String topic = kafka.newTopic("events");
        Offset old;
        try (KafkaEventLog a = node(topic, "a")) {
            old = a.append(event("r", "0", null)).offset();
            a.append(event("r", "1", null));
            a.append(event("r", "2", null));
        }
        TopicPartition tp = new TopicPartition(topic, 0);
        kafka.admin().deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(2))).all().get(30, TimeUnit.SECONDS);
        try (KafkaEventLog fresh = node(topic, "fresh")) {
            List<Event> kept = readAll(fresh.cursorAtStart(), 1);
            assertThat(kept).extracting(KafkaEventLogTest::text).containsExactly("{\"t\":\"2\"}");
            assertThatThrownBy(() -> fresh.cursorAfter(old))
                    .satisfies(e -> assertThat(((GapException) e).gap().reason()).isEqualTo(Gap.Reason.BEFORE_RETENTION));
            assertThatThrownBy(() -> fresh.cursorAfter(Offset.start(fresh.epoch())))
                    .satisfies(e -> assertThat(((GapException) e).gap().reason()).isEqualTo(Gap.Reason.BEFORE_RETENTION));
        }
    }

    @Test
    @Order(6)
    void kafkasLogStartMovingIsBeforeRetentionOnNodesWhoseReplicaStillHoldsTheRecords() throws Exception {
        String topic = kafka.newTopic("events");
        TopicPartition tp = new TopicPartition(topic, 0);
        try (KafkaEventLog a = node(topic, "a")) {
            List<Offset> offsets = new ArrayList<>();
            Offset seenByB;
            try (KafkaEventLog b = node(topic, "b")) {
                for (int i = 0; i < 3; i++) offsets.add(a.append(event("r", String.valueOf(i), null)).offset());
                assertThat(readAll(b.cursorAtStart(), 3)).hasSize(3);
                seenByB = offsets.get(2);
            }
            // while node B is away, three more records, then Kafka drops everything below record 4
            for (int i = 3; i < 6; i++) offsets.add(a.append(event("r", String.valueOf(i), null)).offset());
            kafka.admin().deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(4))).all().get(30, TimeUnit.SECONDS);
            try (KafkaEventLog b = node(topic, "b")) {
                for (KafkaEventLog n : List.of(a, b)) {
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                    while (!n.firstAvailable().equals(offsets.get(4))) {
                        assertThat(System.nanoTime()).as("the node learns Kafka's log start").isLessThan(deadline);
                        Thread.sleep(50);
                    }
                    for (Offset gone : List.of(offsets.get(0), offsets.get(2), offsets.get(3), Offset.start(n.epoch()))) {
                        assertThatThrownBy(() -> n.cursorAfter(gone)).as("resume after %s", gone)
                                .satisfies(e -> assertThat(((GapException) e).gap()).isEqualTo(new Gap(Gap.Reason.BEFORE_RETENTION, offsets.get(4))));
                    }
                    assertThat(readAll(n.cursorAfter(offsets.get(4)), 1)).extracting(Event::offset).containsExactly(offsets.get(5));
                    assertThat(readAll(n.cursorAtStart(), 2)).extracting(Event::offset).containsExactly(offsets.get(4), offsets.get(5));
                    assertThat(readAll(n.cursorAtTime(0), 2)).extracting(Event::offset).containsExactly(offsets.get(4), offsets.get(5));
                }
                assertThat(b.head()).as("the node that was away read on from the log start").isEqualTo(offsets.get(5));
                assertThat(seenByB).isEqualTo(offsets.get(2));
            }
        }
    }

    @Test
    @Order(7)
    void aRecreatedTopicIsAnotherEpoch() throws Exception {
        String topic = kafka.newTopic("events");
        Offset old;
        try (KafkaEventLog a = node(topic, "a")) {
            old = a.append(event("r", "before", null)).offset();
        }
        kafka.deleteTopic(topic);
        kafka.createTopic(topic, 3, 2);
        try (KafkaEventLog a = node(topic, "a")) {
            assertThat(a.epoch()).isNotEqualTo(old.epoch());
            assertThat(a.head().isStart()).as("the old replica was dropped").isTrue();
            assertThatThrownBy(() -> a.cursorAfter(old))
                    .satisfies(e -> assertThat(((GapException) e).gap().reason()).isEqualTo(Gap.Reason.OTHER_EPOCH));
        }
    }

    @Test
    @Order(8)
    void anAckedEventSurvivesItsLeaderAndAnUncommittablePublishFailsWhole() throws Exception {
        String topic = kafka.newTopic("events");
        kafka.awaitInSync(topic, 0);
        KafkaLogConfig config = KafkaLogConfig.of(kafka.bootstrapServers(), topic, dir.resolve("a")).withProduceTimeoutMillis(4_000);
        try (KafkaEventLog a = KafkaEventLog.open(config)) {
            Offset acked = a.append(event("r", "acked", null)).offset();
            int leader = kafka.leaderOf(topic, 0);
            kafka.kill(leader);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (kafka.leaderOf(topic, 0) == leader || kafka.leaderOf(topic, 0) < 0) {
                assertThat(System.nanoTime()).as("a new leader is elected").isLessThan(deadline);
                Thread.sleep(100);
            }
            // the node that never saw it reads it from the surviving replicas
            try (KafkaEventLog fresh = node(topic, "fresh")) {
                assertThat(readAll(fresh.cursorAtStart(), 1)).extracting(Event::offset).containsExactly(acked);
            }
            int other = kafka.nodeIds().stream().filter(id -> id != leader).findFirst().orElseThrow();
            kafka.stop(other);
            // one of three brokers left, min.insync.replicas=2: nothing can be committed
            assertThatThrownBy(() -> a.append(List.of(event("r", "lost-0", null), event("r", "lost-1", null))))
                    .isInstanceOf(LogUnavailableException.class);
            assertThat(a.produceErrors()).isEqualTo(1);
            kafka.restart(leader);
            kafka.restart(other);
            kafka.awaitInSync(topic, 0);
            Offset after = a.append(event("r", "after", null)).offset();
            List<Event> all = readAll(a.cursorAtStart(), 2);
            assertThat(all).extracting(KafkaEventLogTest::text).containsExactly("{\"t\":\"acked\"}", "{\"t\":\"after\"}");
            assertThat(all.get(1).offset()).isEqualTo(after);
            assertThat(a.replicaLagEvents()).isZero();
            assertThat(a.replicaOffset()).isEqualTo(KafkaOffsets.kafkaOffset(after.index()));
        }
    }
}
