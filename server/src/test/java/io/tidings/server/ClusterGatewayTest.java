package io.tidings.server;

import static io.tidings.server.NativeProtocolTest.offsets;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.tidings.kafka.KafkaEventLog;
import io.tidings.kafka.testkit.KafkaTestCluster;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Cluster mode through the real gateway: two in-process gateway nodes on random ports, each on
 * {@code log: kafka} with its own data directory, against one real three-broker KRaft cluster
 * shared by the class. Clients and publishers use the real HTTP API and the native WebSocket.
 */
class ClusterGatewayTest {
    private static KafkaTestCluster kafka;

    @TempDir
    Path dir;

    static final String TOKEN = TestGateway.token("alice", "teamspaceA");

    @BeforeAll
    static void startKafka() {
        kafka = KafkaTestCluster.start(3);
    }

    @AfterAll
    static void stopKafka() {
        if (kafka != null) kafka.close();
    }

    private TestGateway node(String topic, String name) {
        return new TestGateway(dir.resolve(name), c -> {
            c.log = "kafka";
            c.kafkaBootstrapServers = kafka.bootstrapServers();
            c.kafkaTopic = topic;
        });
    }

    @Test
    void aNativeClientResumesOnNodeBFromAnOffsetNodeAGaveIt() {
        String topic = kafka.newTopic("gateway-events");
        try (TestGateway a = node(topic, "a"); TestGateway b = node(topic, "b")) {
            String seen;
            try (WsTestClient c = WsTestClient.welcomed(a, TOKEN)) {
                c.joinLive("teamspaceA");
                List<String> first = List.of(a.publish("teamspaceA", "t", "1"), b.publish("teamspaceA/x", "t", "2"));
                assertThat(offsets(c.events(2))).as("node A delivers what node B committed, in order").isEqualTo(first);
                seen = first.get(1);
                c.abort();
            }
            List<String> missed = new ArrayList<>();
            missed.add(a.publish("teamspaceA", "t", "3"));
            b.publish("teamspaceB", "t", "\"not mine\"");
            missed.add(b.publish("teamspaceA/y", "t", "4"));
            try (WsTestClient c = WsTestClient.welcomed(b, TOKEN)) {
                c.join("teamspaceA", seen);
                c.expectRoomFrame("joined", "teamspaceA");
                assertThat(offsets(c.events(missed.size()))).isEqualTo(missed);
                c.expectRoomFrame("live", "teamspaceA");
                String next = a.publish("teamspaceA", "t", "5");
                assertThat(c.expect("event").get("offset").asText()).isEqualTo(next);
                assertThat(c.poll(300)).as("no duplicate").isNull();
            }
        }
    }

    @Test
    void theSameIdPublishedToTwoNodesAtOnceIsOneEventAndBothAnswersNameItsOffset() throws Exception {
        String topic = kafka.newTopic("gateway-events");
        try (TestGateway a = node(topic, "a"); TestGateway b = node(topic, "b")) {
            for (int round = 0; round < 10; round++) {
                String body = "{\"id\":\"invoice-" + round + "\",\"room\":\"teamspaceA\",\"type\":\"t\",\"data\":" + round + "}";
                CompletableFuture<TestGateway.Response> onA = CompletableFuture.supplyAsync(() -> a.publishRaw(body));
                CompletableFuture<TestGateway.Response> onB = CompletableFuture.supplyAsync(() -> b.publishRaw(body));
                TestGateway.Response ra = onA.get(30, TimeUnit.SECONDS);
                TestGateway.Response rb = onB.get(30, TimeUnit.SECONDS);
                assertThat(ra.status()).isEqualTo(200);
                assertThat(rb.status()).isEqualTo(200);
                assertThat(ra.json().get("offset").asText()).isEqualTo(rb.json().get("offset").asText());
            }
            String onA = a.replay("room=teamspaceA&limit=100").body();
            String onB = b.replay("room=teamspaceA&limit=100").body();
            assertThat(onA.lines()).hasSize(10);
            assertThat(onA).as("audit replay answers the same on both nodes").isEqualTo(onB);
        }
    }

    @Test
    void eachNodeReadsKafkaOnceAndExportsItsClusterMetrics() {
        String topic = kafka.newTopic("gateway-events");
        long before = KafkaEventLog.consumersOpened();
        try (TestGateway a = node(topic, "a")) {
            String offset = a.publish("teamspaceA", "t", "1");
            for (int i = 0; i < 20; i++) a.publish("teamspaceA", "t", "2");
            for (int i = 0; i < 50; i++) {
                try (WsTestClient c = WsTestClient.welcomed(a, TOKEN)) {
                    c.join("teamspaceA", offset);
                    c.expectRoomFrame("joined", "teamspaceA");
                    assertThat(c.events(20)).hasSize(20);
                }
            }
            assertThat(KafkaEventLog.consumersOpened() - before).as("one consumer for the node, none per client").isEqualTo(1);
            String metrics = a.send(HttpRequest.newBuilder(URI.create(a.http("/metrics"))).GET().build()).body();
            assertThat(metrics).contains("tidings_cluster_replica_offset 20.0", "tidings_cluster_replica_lag_events 0.0",
                    "tidings_cluster_produce_seconds_count 21.0", "tidings_cluster_produce_errors_total 0.0",
                    "tidings_cluster_consumers_opened " + KafkaEventLog.consumersOpened() + ".0");
        }
    }

    @Test
    void anOffsetBelowKafkasLogStartIsBeforeRetentionOnEveryNode() throws Exception {
        String topic = kafka.newTopic("gateway-events");
        try (TestGateway a = node(topic, "a"); TestGateway b = node(topic, "b")) {
            String old = a.publish("teamspaceA", "t", "1");
            b.publish("teamspaceA", "t", "2");
            String kept = a.publish("teamspaceA", "t", "3");
            WsTestClient.eventually(() -> b.gateway().log().head().toString().equals(kept));
            // both replicas hold records 0 and 1; Kafka drops them
            kafka.admin().deleteRecords(Map.of(new TopicPartition(topic, 0), RecordsToDelete.beforeOffset(2))).all().get(30, TimeUnit.SECONDS);
            for (TestGateway n : List.of(a, b)) {
                WsTestClient.eventually(() -> n.gateway().log().firstAvailable().toString().equals(kept));
                try (WsTestClient c = WsTestClient.welcomed(n, TOKEN)) {
                    c.join("teamspaceA", old);
                    c.expectRoomFrame("joined", "teamspaceA");
                    JsonNode gap = c.expectRoomFrame("gap", "teamspaceA");
                    assertThat(gap.get("reason").asText()).isEqualTo("before_retention");
                    assertThat(gap.get("offset").asText()).isEqualTo(kept);
                    c.expectRoomFrame("live", "teamspaceA");
                }
                TestGateway.Response audit = n.replay("after=" + old);
                assertThat(audit.status()).isEqualTo(410);
                assertThat(audit.json().get("error").asText()).isEqualTo("gap");
                assertThat(n.replayLines("room=teamspaceA&from=1970-01-01T00:00:00Z")).as("replay by time begins at Kafka's log start")
                        .extracting(e -> e.get("offset").asText()).containsExactly(kept);
            }
        }
    }
}
