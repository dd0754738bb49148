package io.tidings.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tidings.kafka.testkit.KafkaTestCluster;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.Test;

/**
 * The cluster's session table against a real KRaft broker: two {@link KafkaSessionTable}s on one
 * topic stand for two gateway nodes.
 */
class KafkaSessionTableTest {

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String text(byte[] b) {
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }

    @Test
    void whatOneNodeCommittedEveryNodeGetsAtOnceAndOnlyOtherNodesChangesAreForeign() throws Exception {
        try (KafkaTestCluster kafka = KafkaTestCluster.start(1)) {
            kafka.createTopic("events", 1, 1);
            try (KafkaSessionTable a = KafkaSessionTable.open(kafka.bootstrapServers(), "events-sessions", "events", 5_000);
                 KafkaSessionTable b = KafkaSessionTable.open(kafka.bootstrapServers(), "events-sessions", "events", 5_000)) {
                List<String> seenByA = new CopyOnWriteArrayList<>(), seenByB = new CopyOnWriteArrayList<>();
                a.onForeignChange((k, v) -> seenByA.add(k + "=" + text(v)));
                b.onForeignChange((k, v) -> seenByB.add(k + "=" + text(v)));

                assertThat(b.get("socketio/x").get(10, TimeUnit.SECONDS)).as("nothing yet").isNull();
                for (int i = 0; i < 50; i++) {
                    a.put("socketio/x", bytes("v" + i), 60_000).get(10, TimeUnit.SECONDS);
                    // committed on A, so B's very next get sees it: no waiting, no retry
                    assertThat(text(b.get("socketio/x").get(10, TimeUnit.SECONDS))).isEqualTo("v" + i);
                }
                b.put("cable/y", bytes("from b"), 60_000).get(10, TimeUnit.SECONDS);
                assertThat(text(a.get("cable/y").get(10, TimeUnit.SECONDS))).isEqualTo("from b");
                a.remove("cable/y").get(10, TimeUnit.SECONDS);
                assertThat(b.get("cable/y").get(10, TimeUnit.SECONDS)).as("removed on A, gone on B").isNull();

                assertThat(seenByB).hasSize(51).startsWith("socketio/x=v0").endsWith("cable/y=null");
                assertThat(seenByA).as("A hears B's put only, never its own").containsExactly("cable/y=from b");

                ConfigResource topic = new ConfigResource(ConfigResource.Type.TOPIC, "events-sessions");
                assertThat(kafka.admin().describeConfigs(List.of(topic)).all().get(10, TimeUnit.SECONDS).get(topic)
                        .get("cleanup.policy").value()).as("created compacted").isEqualTo("compact");
            }
        }
    }

    @Test
    void aValueExpiresItsTtlAfterThePutAndANewNodeReadsTheWholeTable() throws Exception {
        try (KafkaTestCluster kafka = KafkaTestCluster.start(1)) {
            kafka.createTopic("events", 1, 1);
            try (KafkaSessionTable a = KafkaSessionTable.open(kafka.bootstrapServers(), "s", "events", 5_000)) {
                a.put("short", bytes("1"), 300).get(10, TimeUnit.SECONDS);
                a.put("long", bytes("2"), 600_000).get(10, TimeUnit.SECONDS);
                assertThat(text(a.get("short").get(10, TimeUnit.SECONDS))).isEqualTo("1");
                Thread.sleep(400);
                assertThat(a.get("short").get(10, TimeUnit.SECONDS)).as("expired").isNull();
            }
            try (KafkaSessionTable late = KafkaSessionTable.open(kafka.bootstrapServers(), "s", "events", 5_000)) {
                assertThat(text(late.get("long").get(10, TimeUnit.SECONDS))).as("a node started later").isEqualTo("2");
                assertThat(late.get("short").get(10, TimeUnit.SECONDS)).isNull();
                assertThat(late.size()).isEqualTo(1);
            }
        }
    }

    @Test
    void withTheBrokerGoneAGetAndAPutFailWithinTheTimeoutInsteadOfHanging() throws Exception {
        try (KafkaTestCluster kafka = KafkaTestCluster.start(1)) {
            kafka.createTopic("events", 1, 1);
            try (KafkaSessionTable a = KafkaSessionTable.open(kafka.bootstrapServers(), "s", "events", 2_000)) {
                a.put("k", bytes("v"), 60_000).get(10, TimeUnit.SECONDS);
                kafka.kill(kafka.nodeIds().get(0));
                // a hang would be a TimeoutException here, not the table's failure
                assertThatThrownBy(() -> a.get("k").get(30, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class);
                assertThatThrownBy(() -> a.put("k", bytes("w"), 60_000).get(30, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class);
            }
        }
    }
}
