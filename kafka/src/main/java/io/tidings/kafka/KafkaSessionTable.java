package io.tidings.kafka;

import io.tidings.storage.SessionTable;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.Header;

/**
 * The cluster's {@link SessionTable}: a compacted Kafka topic of one partition (docs/cluster.md,
 * "Session state"). Every node writes its sessions' records to it and reads all of it into memory.
 *
 * <ul>
 *   <li><b>Record.</b> Key: the table key (UTF-8). Value: the caller's bytes, or none for a remove
 *       (a tombstone, which compaction keeps for {@code delete.retention.ms} and then drops). Headers:
 *       {@code tidings-node} (the writing node's id, random per process) and {@code tidings-ttl}
 *       (8 bytes, big-endian milliseconds). A value expires at its record timestamp plus its TTL.</li>
 *   <li><b>Commit point.</b> A put or remove is committed when Kafka acknowledged it (idempotent
 *       producer, {@code acks=all}); its future completes then. Puts of one node are committed in
 *       the order they were made.</li>
 *   <li><b>Reads.</b> One applier thread per node reads the partition from its start (assign and
 *       seek, no consumer group) into a map. {@link #get} first asks Kafka for the partition's end and
 *       waits until the applier has passed it, so it sees every record committed before it was
 *       called, by any node (one end-offset request serves every get waiting at that moment).</li>
 * </ul>
 *
 * <p>Memory: one entry per unexpired key of the whole cluster; expired values are dropped every
 * {@value #EVICT_EVERY_MILLIS} ms. The topic is created if missing, compacted, with the events
 * topic's replication factor.
 *
 * <p>Thread-safety: thread-safe, and no method blocks: records are sent by one sender thread, in the
 * order put; the consumer is used by the applier thread only; the map is concurrent.
 */
public final class KafkaSessionTable implements SessionTable {
    private static final Logger LOG = Logger.getLogger(KafkaSessionTable.class.getName());
    static final String NODE_HEADER = "tidings-node";
    static final String TTL_HEADER = "tidings-ttl";
    static final long EVICT_EVERY_MILLIS = 10_000;

    private record Value(byte[] bytes, long expiresAtMillis) {}

    private final String topic;
    private final TopicPartition partition;
    private final long timeoutMillis;
    private final byte[] node = UUID.randomUUID().toString().getBytes(StandardCharsets.US_ASCII);
    private final KafkaProducer<byte[], byte[]> producer;
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final Map<String, Value> values = new ConcurrentHashMap<>();
    /** Gets waiting for the applier to pass the partition's end as of their call. */
    private final ConcurrentLinkedQueue<CompletableFuture<Void>> syncs = new ConcurrentLinkedQueue<>();
    private final Thread applier;
    /** Sends records in the order put, so that one node's writes of a key commit in order. */
    private final java.util.concurrent.ExecutorService sender = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "tidings-session-table-sender");
        t.setDaemon(true);
        return t;
    });
    private final List<ForeignChanges> listeners = new java.util.concurrent.CopyOnWriteArrayList<>();
    private volatile boolean closed;

    private KafkaSessionTable(String bootstrapServers, String topic, long timeoutMillis) {
        this.topic = topic;
        this.partition = new TopicPartition(topic, 0);
        this.timeoutMillis = timeoutMillis;
        this.producer = new KafkaProducer<>(KafkaClients.producer(bootstrapServers, timeoutMillis, 0));
        this.consumer = new KafkaConsumer<>(KafkaClients.consumer(bootstrapServers));
        consumer.assign(List.of(partition));
        consumer.seekToBeginning(List.of(partition));
        this.applier = new Thread(this::apply, "tidings-session-table");
        applier.setDaemon(true);
    }

    /**
     * Opens the table on {@code topic}, creating it (one partition, compacted, the replication factor
     * and {@code min.insync.replicas} of {@code like}, the events topic) if it does not exist.
     */
    public static KafkaSessionTable open(String bootstrapServers, String topic, String like, long timeoutMillis) {
        ensureTopic(bootstrapServers, topic, like, timeoutMillis);
        KafkaSessionTable table = new KafkaSessionTable(bootstrapServers, topic, timeoutMillis);
        table.applier.start();
        try {
            // Ready once the producer knows the partition's leader (a first put is not held up by a
            // topic created a moment ago) and the table has read what is committed: a node starts
            // with the cluster's sessions in memory.
            table.producer.partitionsFor(topic);
            table.get("").get(timeoutMillis + 5_000, TimeUnit.MILLISECONDS);
        } catch (ExecutionException | TimeoutException | RuntimeException e) {
            table.close();
            throw new IllegalStateException("cannot read the Kafka session topic " + topic + " at " + bootstrapServers + ": " + e, e);
        } catch (InterruptedException e) {
            table.close();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
        return table;
    }

    @Override
    public CompletableFuture<Void> put(String key, byte[] value, long ttlMillis) {
        return send(key, value, ttlMillis);
    }

    @Override
    public CompletableFuture<Void> remove(String key) {
        return send(key, null, 0);
    }

    /** Hands the record to the sender thread: a caller never waits for Kafka's metadata or buffer space. */
    private CompletableFuture<Void> send(String key, byte[] value, long ttlMillis) {
        ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(topic, 0, System.currentTimeMillis(),
                key.getBytes(StandardCharsets.UTF_8), value);
        r.headers().add(NODE_HEADER, node).add(TTL_HEADER, ByteBuffer.allocate(8).putLong(ttlMillis).array());
        CompletableFuture<Void> done = new CompletableFuture<>();
        try {
            sender.execute(() -> {
                try {
                    producer.send(r, (meta, failure) -> {
                        if (failure != null) done.completeExceptionally(failure);
                        else done.complete(null);
                    });
                } catch (RuntimeException e) { // closed, or no metadata within max.block.ms
                    done.completeExceptionally(e);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException closing) {
            done.completeExceptionally(new IllegalStateException("session table closed"));
        }
        return done;
    }

    @Override
    public CompletableFuture<byte[]> get(String key) {
        CompletableFuture<Void> synced = new CompletableFuture<>();
        syncs.add(synced);
        if (closed) synced.completeExceptionally(new IllegalStateException("session table closed"));
        else consumer.wakeup();
        return synced.thenApply(done -> {
            Value v = values.get(key);
            return v == null || v.expiresAtMillis() < System.currentTimeMillis() ? null : v.bytes();
        });
    }

    @Override
    public void onForeignChange(ForeignChanges listener) {
        listeners.add(listener);
    }

    /** Keys held in memory (all nodes'; expired ones until the next eviction). */
    public int size() {
        return values.size();
    }

    /** The applier thread: applies records in order; answers waiting gets once past the end they asked at. */
    private void apply() {
        long nextEvict = System.currentTimeMillis() + EVICT_EVERY_MILLIS;
        while (!closed) {
            List<CompletableFuture<Void>> waiting = new ArrayList<>();
            for (CompletableFuture<Void> s; (s = syncs.poll()) != null; ) waiting.add(s);
            try {
                long end = waiting.isEmpty() ? -1 : endOffset();
                do {
                    for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(waiting.isEmpty() ? 200 : 20))) apply(r);
                } while (!closed && end >= 0 && consumer.position(partition) < end);
                for (CompletableFuture<Void> s : waiting) s.complete(null);
            } catch (WakeupException woken) {
                syncs.addAll(waiting); // a new get: serve it with the ones already waiting
            } catch (RuntimeException | TimeoutException e) {
                if (closed) break;
                LOG.log(Level.WARNING, "session table " + topic + ": cannot read Kafka: " + e.getMessage());
                for (CompletableFuture<Void> s : waiting) s.completeExceptionally(e);
                KafkaEventLog.sleepQuietly(200);
            }
            long now = System.currentTimeMillis();
            if (now >= nextEvict) {
                values.values().removeIf(v -> v.expiresAtMillis() < now);
                nextEvict = now + EVICT_EVERY_MILLIS;
            }
        }
        for (CompletableFuture<Void> s; (s = syncs.poll()) != null; ) s.completeExceptionally(new IllegalStateException("session table closed"));
    }

    private long endOffset() throws TimeoutException {
        for (int attempt = 0; ; attempt++) {
            try {
                return consumer.endOffsets(Set.of(partition), Duration.ofMillis(timeoutMillis)).get(partition);
            } catch (WakeupException again) {
                if (closed || attempt > 100) throw again; // another get arrived: it waits for this answer too
            } catch (org.apache.kafka.common.errors.TimeoutException e) {
                throw new TimeoutException("no end offset of " + partition + " within " + timeoutMillis + " ms");
            }
        }
    }

    private void apply(ConsumerRecord<byte[], byte[]> r) {
        if (r.key() == null) return;
        String key = new String(r.key(), StandardCharsets.UTF_8);
        Header ttl = r.headers().lastHeader(TTL_HEADER);
        long expiresAt = r.value() == null || ttl == null || ttl.value().length != 8 ? 0 : r.timestamp() + ByteBuffer.wrap(ttl.value()).getLong();
        if (expiresAt < System.currentTimeMillis()) values.remove(key); // removed, or expired before this node read it
        else values.put(key, new Value(r.value(), expiresAt));
        Header from = r.headers().lastHeader(NODE_HEADER);
        if (from != null && !java.util.Arrays.equals(from.value(), node)) {
            for (ForeignChanges l : listeners) {
                try {
                    l.changed(key, r.value());
                } catch (RuntimeException e) {
                    LOG.log(Level.WARNING, "session table listener failed on " + key, e);
                }
            }
        }
    }

    private static void ensureTopic(String bootstrapServers, String topic, String like, long timeoutMillis) {
        try (Admin admin = Admin.create(KafkaClients.admin(bootstrapServers, timeoutMillis))) {
            Map<String, TopicDescription> found;
            try {
                found = admin.describeTopics(List.of(topic)).allTopicNames().get(30, TimeUnit.SECONDS);
                if (found.get(topic).partitions().size() != 1) {
                    throw new IllegalStateException("session topic " + topic + " has " + found.get(topic).partitions().size()
                            + " partitions; Tidings needs exactly one");
                }
                return;
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof UnknownTopicOrPartitionException)) throw e;
            }
            TopicDescription events = admin.describeTopics(List.of(like)).allTopicNames().get(30, TimeUnit.SECONDS).get(like);
            short rf = (short) events.partitions().get(0).replicas().size();
            var eventsResource = new org.apache.kafka.common.config.ConfigResource(org.apache.kafka.common.config.ConfigResource.Type.TOPIC, like);
            var minIsr = admin.describeConfigs(List.of(eventsResource)).all().get(30, TimeUnit.SECONDS)
                    .get(eventsResource).get("min.insync.replicas");
            NewTopic t = new NewTopic(topic, 1, rf).configs(Map.of("cleanup.policy", "compact",
                    "min.insync.replicas", minIsr == null ? "1" : minIsr.value()));
            try {
                admin.createTopics(List.of(t)).all().get(30, TimeUnit.SECONDS);
                LOG.info("created session topic " + topic + " (compacted, replication factor " + rf + ")");
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof TopicExistsException)) throw e; // another node was first
            }
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("cannot open the Kafka session topic " + topic + " at " + bootstrapServers
                    + ": " + (e.getCause() != null ? e.getCause().getMessage() : e.getMessage()), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /** Sends what is pending (waiting up to the timeout), then stops reading. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        sender.shutdown();
        try {
            sender.awaitTermination(timeoutMillis, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        producer.close(Duration.ofMillis(timeoutMillis));
        consumer.wakeup();
        try {
            applier.join(timeoutMillis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        consumer.close(Duration.ofSeconds(1));
        for (CompletableFuture<Void> s; (s = syncs.poll()) != null; ) s.completeExceptionally(new IllegalStateException("session table closed"));
    }
}
