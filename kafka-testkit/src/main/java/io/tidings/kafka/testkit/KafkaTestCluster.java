package io.tidings.kafka.testkit;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.Uuid;

/**
 * A real Apache Kafka cluster for tests: {@code n} KRaft nodes, each a combined broker+controller
 * running as its own child JVM ({@code kafka.Kafka server.properties}) from the Maven Central
 * artifact {@code org.apache.kafka:kafka_2.13}, on random free ports, in a fresh temporary directory.
 * Nodes are real processes so a fault test can SIGKILL one.
 *
 * <pre>{@code
 * try (KafkaTestCluster kafka = KafkaTestCluster.start(3)) {
 *     kafka.createTopic("events", 3, 2);
 *     String bootstrap = kafka.bootstrapServers();
 *     kafka.kill(kafka.leaderOf("events", 0));   // SIGKILL the partition leader
 *     kafka.restart(...);                         // same id, dir and ports; waits until it is back
 * }
 * }</pre>
 *
 * <p>Node ids are {@code 1..n}. Each node writes its own output to {@code <dir>/node-<id>/kafka.out}.
 * Every node still running is SIGKILLed and the directory deleted on {@link #close()} and, failing
 * that, when the test JVM exits.
 *
 * <p>Thread-safety: all methods may be called from any thread (they synchronise on the cluster).
 */
public final class KafkaTestCluster implements AutoCloseable {

    private static final Duration READY_TIMEOUT = Duration.ofSeconds(90);

    private final Path dir;
    private final String clusterId = Uuid.randomUuid().toString();
    private final Map<Integer, BrokerNode> nodes = new TreeMap<>();
    private final Path argFile;
    private final AtomicInteger topics = new AtomicInteger();
    private final Thread exitHook = new Thread(this::destroyAll, "kafka-test-cluster-exit");
    private Admin admin;

    private KafkaTestCluster(int size) throws IOException {
        if (size < 1) throw new IllegalArgumentException("a cluster needs at least one node");
        dir = Files.createTempDirectory("tidings-kafka-");
        argFile = dir.resolve("classpath.args");
        Files.writeString(argFile, "-cp\n\"" + classPath().replace("\\", "\\\\") + "\"\n");
        int rf = Math.min(3, size);
        int[] free = FreePorts.pick(2 * size);
        List<int[]> ports = new ArrayList<>();
        for (int id = 1; id <= size; id++) ports.add(new int[] {free[2 * id - 2], free[2 * id - 1]});
        String voters = "";
        for (int id = 1; id <= size; id++) {
            voters += (id > 1 ? "," : "") + id + "@localhost:" + ports.get(id - 1)[1];
        }
        for (int id = 1; id <= size; id++) {
            nodes.put(id, new BrokerNode(id, ports.get(id - 1)[0], ports.get(id - 1)[1], voters, rf));
        }
        Runtime.getRuntime().addShutdownHook(exitHook);
    }

    private static KafkaTestCluster shared;

    /**
     * One three-node cluster shared by every test of this JVM that leaves the brokers alone (no
     * kill, stop or restart; each test makes its own topics with {@link #newTopic}), started on first
     * use and stopped when the JVM exits. Do not close it.
     */
    public static synchronized KafkaTestCluster shared() {
        if (shared == null) shared = start(3);
        return shared;
    }

    /**
     * Formats and starts {@code size} nodes and returns once all of them are brokers of the cluster.
     * 1 node takes about 4 s here, 3 nodes about 10 s.
     */
    public static KafkaTestCluster start(int size) {
        try {
            return startOnce(size);
        } catch (NodeExited first) {
            // Seen once on CI: a node that exits while starting (its ports taken between the pick
            // and the bind, for example). A fresh directory and fresh ports, once.
            System.err.println("KafkaTestCluster: " + first.getMessage() + "; starting a fresh cluster once more");
            return startOnce(size);
        }
    }

    private static KafkaTestCluster startOnce(int size) {
        KafkaTestCluster cluster = null;
        try {
            cluster = new KafkaTestCluster(size);
            List<Process> formats = new ArrayList<>();
            for (BrokerNode node : cluster.nodes.values()) formats.add(node.format());
            for (Process format : formats) {
                if (!format.waitFor(60, TimeUnit.SECONDS) || format.exitValue() != 0) {
                    throw new IllegalStateException("formatting a Kafka node failed; see " + cluster.dir);
                }
            }
            for (BrokerNode node : cluster.nodes.values()) node.launch();
            cluster.awaitBrokers(cluster.nodes.keySet());
            return cluster;
        } catch (IOException e) {
            if (cluster != null) cluster.close();
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            if (cluster != null) cluster.close();
            throw new IllegalStateException("interrupted while starting Kafka", e);
        } catch (RuntimeException e) {
            if (cluster != null) cluster.close();
            throw e;
        }
    }

    /** {@code host:port,...} of every node's client listener (running or not). */
    public synchronized String bootstrapServers() {
        return nodes.values().stream().map(n -> "localhost:" + n.port).collect(Collectors.joining(","));
    }

    /** The client address {@code localhost:port} of one node. */
    public synchronized String address(int nodeId) {
        return "localhost:" + node(nodeId).port;
    }

    /** Ids of all nodes, {@code 1..n}. */
    public synchronized List<Integer> nodeIds() {
        return List.copyOf(nodes.keySet());
    }

    /** True while the node's process is alive. */
    public synchronized boolean isRunning(int nodeId) {
        Process p = node(nodeId).process;
        return p != null && p.isAlive();
    }

    /** SIGKILLs the node's JVM (no shutdown of any kind) and waits for the process to be gone. */
    public synchronized void kill(int nodeId) {
        node(nodeId).terminate(true);
    }

    /** Stops the node gracefully (SIGTERM: controlled shutdown) and waits for the process to exit. */
    public synchronized void stop(int nodeId) {
        node(nodeId).terminate(false);
    }

    /**
     * Starts a stopped or killed node again with its id, directory and ports, and waits until the
     * cluster lists it as a broker (its replicas may still be catching up: see {@link #awaitInSync}).
     */
    public synchronized void restart(int nodeId) {
        BrokerNode node = node(nodeId);
        if (isRunning(nodeId)) throw new IllegalStateException("node " + nodeId + " is running");
        try {
            node.launch();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        awaitBrokers(List.of(nodeId));
    }

    /** Creates a topic with one partition and waits until every replica is in sync. */
    public void createTopic(String topic, int replicationFactor, int minInsyncReplicas) {
        NewTopic t = new NewTopic(topic, 1, (short) replicationFactor)
                .configs(Map.of("min.insync.replicas", Integer.toString(minInsyncReplicas)));
        get(admin().createTopics(List.of(t)).all());
        awaitInSync(topic, 0);
    }

    /**
     * Creates a topic named {@code prefix-<n>} (n counts up per cluster) with the shipped settings
     * (replication factor 3, min.insync.replicas 2) and returns its name: one fresh topic per test.
     */
    public String newTopic(String prefix) {
        String topic = prefix + "-" + topics.incrementAndGet();
        createTopic(topic, 3, 2);
        return topic;
    }

    /** Deletes a topic and waits until the cluster no longer lists it. */
    public void deleteTopic(String topic) {
        get(admin().deleteTopics(List.of(topic)).all());
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        while (get(admin().listTopics().names()).contains(topic)) {
            if (System.nanoTime() > deadline) throw new IllegalStateException("topic " + topic + " not deleted");
            sleep(100);
        }
    }

    /** The id of the partition's leader, or -1 while it has none (during an election). */
    public int leaderOf(String topic, int partition) {
        Node leader = partitionInfo(topic, partition).leader();
        return leader == null || leader.isEmpty() ? -1 : leader.id();
    }

    /**
     * Waits until the partition has a leader and every replica is in sync (after a restart or a
     * creation, for example; metadata not yet known to the node asked is waited for too).
     */
    public void awaitInSync(String topic, int partition) {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        while (true) {
            Object last;
            try {
                TopicPartitionInfo info = partitionInfo(topic, partition);
                if (info.leader() != null && !info.leader().isEmpty() && info.isr().size() == info.replicas().size()) return;
                last = info;
            } catch (IllegalStateException notKnownYet) {
                last = notKnownYet.getMessage();
            }
            if (System.nanoTime() > deadline) throw new IllegalStateException("replicas of " + topic + " not in sync: " + last);
            sleep(100);
        }
    }

    /** An admin client on the cluster, owned by the cluster (do not close it). */
    public synchronized Admin admin() {
        if (admin == null) {
            Properties p = new Properties();
            p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
            p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5_000);
            p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 10_000);
            admin = Admin.create(p);
        }
        return admin;
    }

    /** The cluster's temporary directory (one {@code node-<id>} directory per node). */
    public Path dir() {
        return dir;
    }

    /** SIGKILLs every node and deletes the directory. */
    @Override
    public synchronized void close() {
        if (admin != null) {
            admin.close(Duration.ofSeconds(1));
            admin = null;
        }
        destroyAll();
        try {
            Runtime.getRuntime().removeShutdownHook(exitHook);
        } catch (IllegalStateException alreadyExiting) {
            // the hook is running or has run
        }
    }

    private void destroyAll() {
        for (BrokerNode node : nodes.values()) node.terminate(true);
        deleteTree(dir);
    }

    private TopicPartitionInfo partitionInfo(String topic, int partition) {
        TopicDescription d = get(admin().describeTopics(List.of(topic)).allTopicNames()).get(topic);
        return d.partitions().get(partition);
    }

    private void awaitBrokers(java.util.Collection<Integer> ids) {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        while (true) {
            for (int id : ids) {
                if (!node(id).process.isAlive()) throw new NodeExited(id, node(id).out);
            }
            try {
                List<Integer> brokers = admin().describeCluster().nodes().get(5, TimeUnit.SECONDS)
                        .stream().map(Node::id).toList();
                if (brokers.containsAll(ids)) return;
            } catch (ExecutionException | java.util.concurrent.TimeoutException notYet) {
                // not up yet
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for Kafka", e);
            }
            if (System.nanoTime() > deadline) throw new IllegalStateException("Kafka nodes " + ids + " not ready; see " + dir);
            sleep(100);
        }
    }

    private BrokerNode node(int nodeId) {
        BrokerNode n = nodes.get(nodeId);
        if (n == null) throw new IllegalArgumentException("no Kafka node " + nodeId + " (ids are " + nodes.keySet() + ")");
        return n;
    }

    /** One node: its properties, directory and (while running) process. Guarded by the cluster. */
    private final class BrokerNode {
        final int id;
        final int port;
        final Path home;
        final Path properties;
        final Path out;
        Process process;

        BrokerNode(int id, int port, int controllerPort, String voters, int rf) throws IOException {
            this.id = id;
            this.port = port;
            home = Files.createDirectories(dir.resolve("node-" + id));
            properties = home.resolve("server.properties");
            out = home.resolve("kafka.out");
            int minIsr = Math.min(2, rf);
            String text = String.join("\n",
                    "process.roles=broker,controller",
                    "node.id=" + id,
                    "controller.quorum.voters=" + voters,
                    "listeners=PLAINTEXT://localhost:" + port + ",CONTROLLER://localhost:" + controllerPort,
                    "advertised.listeners=PLAINTEXT://localhost:" + port,
                    "controller.listener.names=CONTROLLER",
                    "inter.broker.listener.name=PLAINTEXT",
                    "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                    "log.dirs=" + home.resolve("data"),
                    "num.partitions=1",
                    "default.replication.factor=" + rf,
                    "min.insync.replicas=" + minIsr,
                    "offsets.topic.replication.factor=" + rf,
                    "transaction.state.log.replication.factor=" + rf,
                    "transaction.state.log.min.isr=" + minIsr,
                    "group.initial.rebalance.delay.ms=0",
                    "auto.create.topics.enable=false",
                    "unclean.leader.election.enable=false",
                    "");
            Files.writeString(properties, text);
        }

        Process format() throws IOException {
            return java("kafka.tools.StorageTool", "format", "-t", clusterId, "-c", properties.toString(), "--ignore-formatted")
                    .redirectOutput(home.resolve("format.out").toFile()).start();
        }

        void launch() throws IOException {
            process = java("kafka.Kafka", properties.toString())
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(out.toFile())).start();
        }

        void terminate(boolean sigkill) {
            Process p = process;
            if (p == null || !p.isAlive()) return;
            if (sigkill) p.destroyForcibly(); else p.destroy();
            try {
                if (!p.waitFor(60, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    p.waitFor(10, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }

        private ProcessBuilder java(String mainClass, String... args) {
            List<String> cmd = new ArrayList<>(List.of(javaBin(), "-Xms64m", "-Xmx384m", "-XX:+UseSerialGC",
                    "-Djava.awt.headless=true", "-Dkafka.logs.dir=" + home.resolve("logs"),
                    "@" + argFile, mainClass));
            cmd.addAll(List.of(args));
            return new ProcessBuilder(cmd).directory(home.toFile()).redirectErrorStream(true);
        }
    }

    private static String javaBin() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /** The test JVM's own classpath (Surefire names it separately when it uses a manifest-only jar). */
    private static String classPath() {
        String cp = System.getProperty("surefire.test.class.path");
        if (cp == null || cp.isBlank()) cp = System.getProperty("java.class.path");
        return cp;
    }

    /** A node's process ended while the cluster waited for it; the message carries its last lines. */
    private static final class NodeExited extends IllegalStateException {
        NodeExited(int id, Path out) {
            super("Kafka node " + id + " exited; see " + out + tail(out));
        }

        private static String tail(Path out) {
            try {
                List<String> lines = Files.readAllLines(out);
                return "; its last lines:\n  " + String.join("\n  ", lines.subList(Math.max(0, lines.size() - 15), lines.size()));
            } catch (IOException | RuntimeException unreadable) {
                return "";
            }
        }
    }

    private static <T> T get(org.apache.kafka.common.KafkaFuture<T> future) {
        try {
            return future.get(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException("Kafka admin call failed: " + e.getMessage(), e);
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    private static void deleteTree(Path root) {
        if (!Files.exists(root)) return;
        try (Stream<Path> walk = Files.walk(root)) {
            walk.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
        } catch (IOException | UncheckedIOException ignored) {
            // best effort: a temp dir
        }
    }
}
