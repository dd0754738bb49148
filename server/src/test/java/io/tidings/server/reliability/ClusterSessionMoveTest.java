package io.tidings.server.reliability;

import static org.assertj.core.api.Assertions.assertThat;

import io.tidings.kafka.testkit.KafkaTestCluster;
import io.tidings.server.ChildGateway;
import io.tidings.server.TestGateway;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Cluster mode (issue 15, items 5 and 8): session state moves with a client between nodes. Real
 * socket.io-clients and real AnyCable clients ({@code @anycable/web}, extended protocol) connect
 * through a TCP proxy (the load balancer) to node A, a gateway child process; node B runs in this
 * JVM; both are on one topic of three real Kafka brokers. While events are published through B,
 * node A is SIGKILLed and the proxy sends new connections to B. Every Socket.IO client recovers its
 * session on B ({@code socket.recovered === true}: its rooms and the events it missed, from the
 * recovery record node A put in the cluster's session table), every AnyCable client gets its
 * session restored on B and its history, and each ends with exactly the acknowledged events of its
 * rooms, once, in order. Nobody needed to reconcile from the audit replay.
 */
class ClusterSessionMoveTest {
    static final String PREFIX = "m";
    static final String CHANNEL = "MoveChannel";

    @TempDir
    Path dir;

    @Test
    void socketIoAndAnyCableClientsOfAKilledNodeGetTheirSessionsBackOnAnother() throws Exception {
        int socketIoCount = Scale.pick("cluster.move.socketio", 20, 200);
        int cableCount = Scale.pick("cluster.move.cable", 20, 200);
        int seconds = Scale.pick("cluster.move.seconds", 6, 30);
        Random random = new Random(Scale.seed());
        List<String> rooms = List.of(PREFIX + "/r0", PREFIX + "/r1", PREFIX + "/r2", PREFIX + "/r3");
        KafkaTestCluster kafka = KafkaTestCluster.shared();
        String topic = kafka.newTopic("events");
        Map<String, String> cluster = new HashMap<>(Map.of("TIDINGS_LOG", "kafka", "TIDINGS_KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrapServers(),
                "TIDINGS_KAFKA_TOPIC", topic, "TIDINGS_CABLE_CHANNELS", CHANNEL + "=" + PREFIX + "/{room}"));
        try (ChildGateway a = new ChildGateway(dir.resolve("a"), ChildGateway.freePort(), cluster)) {
            a.start();
            try (TestGateway b = new TestGateway(dir.resolve("b"), c -> {
                    c.log = "kafka";
                    c.kafkaBootstrapServers = kafka.bootstrapServers();
                    c.kafkaTopic = topic;
                    c.cableChannels = Map.of(CHANNEL, PREFIX + "/{room}");
                });
                 FaultyTcpProxy balancer = new FaultyTcpProxy(a.port(), 1);
                 SocketIoResumingClients socketIo = new SocketIoResumingClients("http://127.0.0.1:" + balancer.port(), b);
                 CableResumingClients cable = new CableResumingClients("ws://127.0.0.1:" + balancer.port() + "/cable", CHANNEL, PREFIX, b)) {
                String epoch = b.gateway().log().epoch();
                String token = TestGateway.token("mover", PREFIX);
                for (int i = 0; i < socketIoCount; i++) socketIo.add("s" + i, token, NetworkJitterTest.pickRooms(random, rooms), epoch);
                for (int i = 0; i < cableCount; i++) cable.add("c" + i, token, NetworkJitterTest.pickRooms(random, rooms), epoch);
                assertThat(NetworkJitterTest.awaitOrFail("every client subscribed on node A", 90_000,
                        () -> socketIo.all().stream().allMatch(c -> c.subscribed) && cable.all().stream().allMatch(CableResumingClients.Client::subscribed),
                        () -> failures(socketIo, cable))).as("every client subscribed on node A").isTrue();
                assertThat(balancer.accepted()).as("connections went through the balancer to node A").isGreaterThanOrEqualTo(socketIoCount + cableCount);

                CompletableFuture<Map<String, List<Long>>> publishing = CompletableFuture.supplyAsync(() -> {
                    try {
                        return NetworkJitterTest.publish(b, rooms, seconds, 100, new Random(random.nextLong()));
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                });
                Thread.sleep(seconds * 1000L / 3);
                balancer.retarget(b.port());
                long killedAt = System.nanoTime();
                a.kill();
                boolean moved = NetworkJitterTest.awaitOrFail("every client reconnected to node B", 60_000,
                        () -> socketIo.connects.get() >= 2 * socketIoCount && cable.connects.get() >= 2 * cableCount,
                        () -> failures(socketIo, cable));
                long movedMs = (System.nanoTime() - killedAt) / 1_000_000;
                Map<String, List<Long>> published = publishing.get();
                List<ReceivedSequences> all = new ArrayList<>();
                socketIo.all().forEach(c -> all.add(c.sequences));
                cable.all().forEach(c -> all.add(c.sequences));
                boolean settled = NetworkJitterTest.awaitOrFail("every client caught up", 60_000,
                        () -> all.stream().allMatch(s -> s.matches(published)), () -> failures(socketIo, cable));

                assertThat(failures(socketIo, cable)).as("protocol failures").isEmpty();
                assertThat(moved).as("every client reconnected within 60 s of the kill").isTrue();
                for (SocketIoResumingClients.Client c : socketIo.all()) c.sequences.check("socket.io " + c.id, published);
                int k = 0;
                for (CableResumingClients.Client c : cable.all()) c.sequences.check("actioncable client " + k++, published);
                assertThat(settled).isTrue();
                assertThat(socketIo.recovered.get()).as("socket.io sessions recovered on node B").isEqualTo(socketIoCount);
                assertThat(socketIo.reconciliations.get()).as("socket.io clients that had to reconcile").isZero();
                assertThat(cable.restored.get()).as("AnyCable sessions restored on node B").isEqualTo(cableCount);
                assertThat(cable.reconciliations.get()).as("AnyCable subscriptions that had to reconcile").isZero();
                String metrics = b.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(b.http("/metrics"))).GET().build()).body();
                assertThat(metrics).as("node B counted the recoveries").contains(
                        "tidings_resumes_total{outcome=\"recovered\",protocol=\"socketio\",} " + socketIoCount + ".0",
                        "tidings_resumes_total{outcome=\"recovered\",protocol=\"actioncable\",} " + cableCount + ".0");
                Scale.report("cluster", String.format("session-move socketio=%d (recovered %d, reconciled 0) actioncable=%d (restored %d, reconciled 0) "
                                + "events=%d delivered=%d lost=0 duplicated=0 all_reconnected_ms=%d",
                        socketIoCount, socketIo.recovered.get(), cableCount, cable.restored.get(),
                        published.values().stream().mapToInt(List::size).sum(), all.stream().mapToLong(ReceivedSequences::events).sum(), movedMs));
            }
        }
    }

    private static List<String> failures(SocketIoResumingClients socketIo, CableResumingClients cable) {
        List<String> out = new ArrayList<>();
        if (socketIo.failure != null) out.add(socketIo.failure);
        if (cable.failure != null) out.add(cable.failure);
        return out;
    }
}
