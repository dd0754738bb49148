package io.tidings.server;

import static io.tidings.server.NativeProtocolTest.offsets;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.tidings.kafka.KafkaEventLog;
import io.tidings.kafka.testkit.KafkaTestCluster;
import io.tidings.server.ws.cable.CableNode;
import io.tidings.server.ws.socketio.SocketIoDriver;
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
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Cluster mode through the real gateway: two in-process gateway nodes on random ports, each on
 * {@code log: kafka} with its own data directory, against one real three-broker KRaft cluster
 * shared with the other cluster tests of the JVM (one topic per test). Clients and publishers use the real HTTP API and the native WebSocket.
 */
class ClusterGatewayTest {
    private static KafkaTestCluster kafka;

    @TempDir
    Path dir;

    static final String TOKEN = TestGateway.token("alice", "teamspaceA");

    @BeforeAll
    static void startKafka() {
        kafka = KafkaTestCluster.shared();
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

    @Test
    void aSocketIoSessionHeldOnNodeAIsRecoveredOnNodeBWhichClosesTheOldConnectionOnA() {
        String topic = kafka.newTopic("gateway-events");
        try (TestGateway a = node(topic, "a"); TestGateway b = node(topic, "b");
             SocketIoDriver onA = new SocketIoDriver(a); SocketIoDriver onB = new SocketIoDriver(b)) {
            String ws = "/socket.io/?EIO=4&transport=websocket&token=" + TOKEN;
            onA.raw("old", ws);
            onA.await("open", l -> SocketIoDriver.is(l, "raw", "old"));
            onA.rawSend("old", "40");
            JsonNode first = SocketIoDriver.parse(onA.await("connect", l -> SocketIoDriver.is(l, "raw", "old")
                    && l.get("frame").asText().startsWith("40")).get("frame").asText().substring(2));
            onA.rawSend("old", "420[\"join\",{\"account\":\"teamspaceA\"}]");
            onA.await("join ack", l -> SocketIoDriver.is(l, "raw", "old") && l.get("frame").asText().startsWith("430"));
            String o1 = a.publish("teamspaceA", "one", "{}");
            onA.await("event one on A", l -> SocketIoDriver.is(l, "raw", "old") && l.get("frame").asText().contains("teamspaceA::one"));
            b.publish("teamspaceA", "two", "{}");
            onA.await("event two on A", l -> SocketIoDriver.is(l, "raw", "old") && l.get("frame").asText().contains("teamspaceA::two"));

            // the client believes its connection to A is dead (it is half-open) and recovers on B from o1
            onB.raw("new", ws);
            onB.await("open", l -> SocketIoDriver.is(l, "raw", "new"));
            onB.rawSend("new", "40{\"pid\":\"" + first.get("pid").asText() + "\",\"offset\":\"" + o1 + "\"}");
            JsonNode second = SocketIoDriver.parse(onB.await("connect on B", l -> SocketIoDriver.is(l, "raw", "new")
                    && l.get("frame").asText().startsWith("40")).get("frame").asText().substring(2));
            assertThat(second.get("pid").asText()).as("the session A created, recovered on B").isEqualTo(first.get("pid").asText());
            assertThat(second.get("sid").asText()).isEqualTo(first.get("sid").asText());
            assertThat(onB.await("replayed event", l -> SocketIoDriver.is(l, "raw", "new") && l.get("frame").asText().startsWith("42"))
                    .get("frame").asText()).contains("teamspaceA::two");
            assertThat(onA.await("A closes the connection whose session moved", l -> SocketIoDriver.is(l, "rawclose", "old"))
                    .get("code").asInt()).isEqualTo(1001);
            a.publish("teamspaceA", "three", "{}");
            onB.await("the next event, live on B", l -> SocketIoDriver.is(l, "raw", "new") && l.get("frame").asText().contains("teamspaceA::three"));
        }
    }

    @Test
    void anAnyCableSessionHeldOnNodeAIsRestoredOnNodeBWhichClosesTheOldConnectionOnA() throws Exception {
        String topic = kafka.newTopic("gateway-events");
        String ext = "actioncable-v1-ext-json", cookie = CableNode.cookie(TestGateway.token("alice"));
        String identifier = io.tidings.server.http.Json.quote("{\"channel\":\"NotificationsChannel\"}");
        try (TestGateway a = node(topic, "a"); TestGateway b = node(topic, "b");
             CableNode old = CableNode.raw(a.ws("/cable"), ext, cookie)) {
            assertThat(old.nextLine()).isEqualTo("open " + ext);
            java.util.regex.Matcher welcome = java.util.regex.Pattern.compile("frame \\{\"type\":\"welcome\",\"sid\":\"([^\"]+)\"}").matcher(old.nextLine());
            assertThat(welcome.matches()).isTrue();
            old.send("{\"command\":\"subscribe\",\"identifier\":" + identifier + "}");
            assertThat(old.nextLine()).contains("confirm_subscription");
            io.tidings.storage.Offset e1 = io.tidings.storage.Offset.parse(a.publish("user/alice", "t", "{\"id\":1}"));
            assertThat(old.nextLine()).contains("\"offset\":" + e1.index());
            io.tidings.storage.Offset e2 = io.tidings.storage.Offset.parse(b.publish("user/alice", "t", "{\"id\":2}"));
            assertThat(old.nextLine()).contains("\"offset\":" + e2.index());

            // the client believes its connection to A is dead (half-open), reconnects to B with its sid, and was last sure of e1
            try (CableNode moved = CableNode.raw(b.ws("/cable?sid=" + welcome.group(1)), ext, cookie)) {
                assertThat(moved.nextLine()).isEqualTo("open " + ext);
                assertThat(moved.nextLine()).as("the session A held, restored on B")
                        .matches("frame \\{\"type\":\"welcome\",\"sid\":\"[^\"]+\",\"restored\":true,\"restored_ids\":\\["
                                + java.util.regex.Pattern.quote(identifier) + "]}");
                moved.send("{\"command\":\"history\",\"identifier\":" + identifier + ",\"history\":{\"since\":0,\"streams\":{\"user/alice\":{\"epoch\":\""
                        + e1.epoch() + "\",\"offset\":" + e1.index() + "}}}}");
                assertThat(moved.nextLine()).contains("\"offset\":" + e2.index());
                assertThat(moved.nextLine()).contains("confirm_history");
                String line;
                do {
                    line = old.nextLine();
                } while (!line.startsWith("close "));
                assertThat(line).as("A closes the connection whose session moved").startsWith("close 1001");
                io.tidings.storage.Offset e3 = io.tidings.storage.Offset.parse(a.publish("user/alice", "t", "{\"id\":3}"));
                assertThat(moved.nextLine()).as("live on B").contains("\"offset\":" + e3.index());
            }
        }
    }
}
