package io.tidings.server.reliability;

import static org.assertj.core.api.Assertions.assertThat;

import io.tidings.kafka.testkit.KafkaTestCluster;
import io.tidings.server.ChildGateway;
import io.tidings.server.TestGateway;
import io.tidings.server.WsTestClient;
import io.tidings.storage.Offset;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Cluster mode (issue 15): two gateway nodes as child processes on one topic of three real Kafka
 * brokers; native clients on node A, publishes with ids through node B; node A is SIGKILLed under
 * that load. Its clients reconnect to node B and resume from their last offsets: each ends with
 * exactly the acknowledged events of its rooms, once, in order.
 */
class ClusterGatewayKillTest {
    private static final List<String> ROOMS = List.of("cluster/r0", "cluster/r1");

    @TempDir
    Path dir;

    @Test
    void theClientsOfAKilledNodeResumeExactlyOnAnother() throws Exception {
        int clients = Scale.pick("cluster.clients", 4, 40);
        KafkaTestCluster kafka = KafkaTestCluster.shared();
        String topic = kafka.newTopic("events");
        Map<String, String> cluster = Map.of("TIDINGS_LOG", "kafka", "TIDINGS_KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrapServers(),
                "TIDINGS_KAFKA_TOPIC", topic);
        try (ChildGateway a = new ChildGateway(dir.resolve("a"), ChildGateway.freePort(), cluster);
             ChildGateway b = new ChildGateway(dir.resolve("b"), ChildGateway.freePort(), cluster)) {
            a.start();
            b.start();
            GatewayHttp api = new GatewayHttp(b);
            Map<String, List<Long>> published = new ConcurrentHashMap<>();
            String first = publish(api, "warm-up", ROOMS.get(0), published);
            String epoch = Offset.parse(first).epoch();
            String token = TestGateway.token("cluster", ROOMS.toArray(String[]::new));
            List<NativeResumingClient> natives = new ArrayList<>();
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < clients; i++) {
                NativeResumingClient c = new NativeResumingClient("native-" + i, () -> a.isAlive() ? a.port() : b.port(), token, epoch, ROOMS);
                natives.add(c);
                Thread t = new Thread(c, c.name);
                t.start();
                threads.add(t);
            }
            WsTestClient.eventually(() -> natives.stream().allMatch(c -> c.subscribed));
            AtomicBoolean stop = new AtomicBoolean();
            Thread producer = new Thread(() -> {
                for (int n = 0; !stop.get(); n++) publish(api, "p" + n, ROOMS.get(n % 2), published);
            }, "producer");
            producer.start();
            Thread.sleep(1_500);
            long killedAt = System.nanoTime();
            a.kill();
            WsTestClient.eventually(() -> natives.stream().allMatch(c -> c.connections.get() >= 2));
            long movedMs = (System.nanoTime() - killedAt) / 1_000_000;
            Thread.sleep(1_500);
            stop.set(true);
            producer.join(30_000);
            WsTestClient.eventually(() -> natives.stream().allMatch(c -> c.sequences.matches(published)));
            natives.forEach(NativeResumingClient::stop);
            for (Thread t : threads) t.join(10_000);
            int events = 0;
            for (NativeResumingClient c : natives) {
                assertThat(c.failure).as(c.state()).isNull();
                c.sequences.check(c.name, published);
                events += c.sequences.events();
            }
            Scale.report("cluster", String.format("gateway-kill clients=%d acked=%d delivered=%d lost=0 duplicated=0 all_reconnected_ms=%d",
                    clients, published.values().stream().mapToInt(List::size).sum(), events, movedMs));
        }
    }

    /** Publishes one event with an id until acknowledged (retrying with the same id); records its index. */
    private static String publish(GatewayHttp api, String id, String room, Map<String, List<Long>> published) {
        String offset = api.publishUntilAcked(id, room);
        List<Long> seq = published.computeIfAbsent(room, k -> java.util.Collections.synchronizedList(new ArrayList<>()));
        long index = Offset.parse(offset).index();
        if (!seq.contains(index)) seq.add(index);
        return offset;
    }
}
