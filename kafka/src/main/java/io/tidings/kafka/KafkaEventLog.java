package io.tidings.kafka;

import io.tidings.storage.Appended;
import io.tidings.storage.Cursor;
import io.tidings.storage.EventLog;
import io.tidings.storage.Gap;
import io.tidings.storage.GapException;
import io.tidings.storage.LogConfig;
import io.tidings.storage.LogStats;
import io.tidings.storage.LogUnavailableException;
import io.tidings.storage.NewEvent;
import io.tidings.storage.Offset;
import io.tidings.storage.TailRepair;
import io.tidings.storage.VerifyReport;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongConsumer;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.Header;

/**
 * The cluster {@link EventLog}: Apache Kafka is the log, every gateway node reads it into a local
 * read replica and serves all cursors from there. The design is stated in docs/cluster.md; briefly:
 *
 * <ul>
 *   <li><b>Commit point.</b> A publish is one Kafka record holding the whole batch
 *       ({@link KafkaRecords}), sent by an idempotent producer with {@code acks=all}: it is committed
 *       when the partition's in-sync replicas have it ({@code min.insync.replicas} of the topic).
 *       A record Kafka does not acknowledge within {@code produceTimeoutMillis} fails the publish
 *       with {@link LogUnavailableException}; a batch is never partly committed.</li>
 *   <li><b>Offsets.</b> One partition, one order; an event's index is derived from its record's
 *       Kafka offset ({@link KafkaOffsets}), the epoch from the topic id, so offsets mean the same on
 *       every node.</li>
 *   <li><b>Replica.</b> One thread per node reads the partition with one consumer (assign and seek,
 *       no consumer group) and appends each record's events, in log order, to a Chronicle log under
 *       {@code replicaDir}, with the record's timestamp as the event time. A {@link ReplicaIndex}
 *       maps cluster offsets to the replica's indices. Cursors, catch-up and audit replay read the
 *       replica: they open no Kafka connection.</li>
 *   <li><b>Idempotency.</b> The replica's dedupe drops an event whose producer id it saw within the
 *       window, by event time and in log order: the same decision on every node. A publishing node
 *       answers once its own replica has applied its record, so it answers with the winning offset
 *       (also when another node's copy won).</li>
 * </ul>
 *
 * <p>Thread-safety: shared and thread-safe. Publishes may come from any thread; the replicator
 * thread is the replica's only writer and holds {@code applyLock} while it appends an event and its
 * index entry, so a cursor opened at the end never sees one without the other.
 */
public final class KafkaEventLog implements EventLog {
    private static final Logger LOG = Logger.getLogger(KafkaEventLog.class.getName());
    private static final String REQUEST_HEADER = "tidings-request";
    private static final AtomicLong CONSUMERS_OPENED = new AtomicLong();

    private final KafkaLogConfig config;
    private final String epoch;
    private final TopicPartition partition;
    private final EventLog replica;
    private final ReplicaIndex index;
    /** How often the replicator asks Kafka for the partition's log start (retention, deleteRecords). */
    static final long LOG_START_REFRESH_MILLIS = 2_000;
    /**
     * Kafka offset of the first record the replica may serve: the larger of where the replica began and
     * Kafka's log start as last seen. Records below it are before retention on every node, also when
     * the replica still holds them (they are never served); it only grows.
     */
    private volatile long retentionStart;
    private final KafkaProducer<byte[], byte[]> producer;
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final Thread replicator;
    private final Object applyLock = new Object();
    private final Map<String, CompletableFuture<List<Appended>>> pending = new ConcurrentHashMap<>();
    /** Publishes sent and not yet answered, at most: what a burst of unbatched publishes may hold. */
    static final int MAX_IN_FLIGHT = 4_096;
    private final java.util.concurrent.Semaphore inFlight = new java.util.concurrent.Semaphore(MAX_IN_FLIGHT);
    private final Listener listener;

    /** Timestamp of the record being applied: the replica's clock, so event times are the same everywhere. */
    private volatile long applyingTimeMillis;
    private volatile Offset head;
    private volatile long headTimeMillis = -1;
    private volatile long replicaOffset = -1;
    /** Kafka's committed end (high watermark) as last seen by the replicator; at open, asked once. */
    private volatile long highWatermark;
    /** Kafka's end when this log was opened: the replica has caught up once it has applied that far. */
    private final long endAtOpen;
    private final AtomicLong produceErrors = new AtomicLong();
    private volatile boolean closed;

    /** Told about every publish, for metrics. Called on producer threads; must not block. */
    public interface Listener {
        Listener NONE = new Listener() {
            @Override public void produced(long nanos) {}
            @Override public void produceFailed() {}
        };

        /** Kafka acknowledged a publish {@code nanos} after it was sent. */
        void produced(long nanos);

        /** Kafka did not commit a publish. */
        void produceFailed();
    }

    private KafkaEventLog(KafkaLogConfig config, Listener listener) {
        this.config = config;
        this.listener = listener;
        this.partition = new TopicPartition(config.topic(), 0);
        TopicFacts facts = describe(config);
        this.epoch = KafkaOffsets.epoch(facts.topicId);
        Path dir = config.replicaDir().toAbsolutePath();
        long origin = ReplicaState.prepare(dir, epoch, facts.logStart);
        this.retentionStart = Math.max(origin, facts.logStart);
        this.applyingTimeMillis = System.currentTimeMillis();
        this.replica = EventLog.open(LogConfig.at(dir.resolve("log"))
                .withClock(() -> applyingTimeMillis)
                .withDedupe(config.dedupeWindowMillis(), config.dedupeMaxIds()));
        this.index = new ReplicaIndex(dir.resolve("index"));
        try {
            checkInStep();
        } catch (RuntimeException e) {
            index.close();
            replica.close();
            throw e;
        }
        long size = index.size();
        this.head = size == 0 ? Offset.start(epoch) : new Offset(epoch, index.clusterAt(size - 1));
        if (size > 0) this.replicaOffset = KafkaOffsets.kafkaOffset(head.index());
        this.producer = new KafkaProducer<>(KafkaClients.producer(config.bootstrapServers(), config.produceTimeoutMillis(), config.lingerMillis()));
        this.consumer = new KafkaConsumer<>(KafkaClients.consumer(config.bootstrapServers()));
        CONSUMERS_OPENED.incrementAndGet();
        consumer.assign(List.of(partition));
        consumer.seek(partition, size == 0 ? retentionStart : replicaOffset + 1);
        Long end = consumer.endOffsets(List.of(partition), Duration.ofSeconds(10)).get(partition);
        this.endAtOpen = end == null ? 0 : end;
        this.highWatermark = endAtOpen;
        this.replicator = new Thread(this::replicate, "tidings-kafka-replicator-" + config.topic());
        replicator.setDaemon(true);
        replicator.start();
    }

    /**
     * Connects to Kafka, opens (or rebuilds) the node's replica and starts replicating. The topic must
     * exist with one partition.
     *
     * @throws IllegalStateException if Kafka cannot be reached or the topic is missing or partitioned
     */
    public static KafkaEventLog open(KafkaLogConfig config, Listener listener) {
        return new KafkaEventLog(config, listener);
    }

    public static KafkaEventLog open(KafkaLogConfig config) {
        return open(config, Listener.NONE);
    }

    /** Kafka consumers opened by this JVM so far (one per open log: resuming clients open none). */
    public static long consumersOpened() {
        return CONSUMERS_OPENED.get();
    }

    @Override
    public String epoch() {
        return epoch;
    }

    @Override
    public List<Appended> append(List<NewEvent> events) {
        try {
            return appendAsync(events).get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            throw new LogUnavailableException("publishing failed: " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LogUnavailableException("interrupted while publishing", e);
        }
    }

    /**
     * Sends the batch as one record and returns at once; the future completes once Kafka has
     * committed it and this node's replica has applied it (with the offsets it got there). Blocks the
     * caller only while {@value #MAX_IN_FLIGHT} publishes are in flight (and while the producer
     * waits for metadata), at most the produce timeout.
     */
    @Override
    public CompletableFuture<List<Appended>> appendAsync(List<NewEvent> events) {
        if (events.isEmpty()) return CompletableFuture.completedFuture(new ArrayList<>());
        if (closed) return CompletableFuture.failedFuture(new LogUnavailableException("log is closed"));
        if (events.size() > KafkaRecords.MAX_BATCH) {
            return CompletableFuture.failedFuture(
                    new IllegalArgumentException("a batch holds at most " + KafkaRecords.MAX_BATCH + " events"));
        }
        try {
            if (!inFlight.tryAcquire(config.produceTimeoutMillis(), TimeUnit.MILLISECONDS)) {
                return CompletableFuture.failedFuture(new LogUnavailableException(
                        MAX_IN_FLIGHT + " publishes waiting for Kafka for " + config.produceTimeoutMillis() + " ms"));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return CompletableFuture.failedFuture(new LogUnavailableException("interrupted while publishing", e));
        }
        String request = UUID.randomUUID().toString();
        CompletableFuture<List<Appended>> applied = new CompletableFuture<>();
        CompletableFuture<List<Appended>> answer = new CompletableFuture<>();
        answer.whenComplete((r, e) -> {
            pending.remove(request);
            inFlight.release();
        });
        pending.put(request, applied);
        ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(config.topic(), 0, System.currentTimeMillis(),
                null, KafkaRecords.encode(events));
        record.headers().add(REQUEST_HEADER, request.getBytes(StandardCharsets.US_ASCII));
        long started = System.nanoTime();
        try {
            producer.send(record, (metadata, error) -> {
                if (error != null) {
                    notCommitted(answer, error);
                    return;
                }
                listener.produced(System.nanoTime() - started);
                // the replicator completes `applied` (perhaps already has): on its thread, so hand on without work
                applied.orTimeout(config.produceTimeoutMillis(), TimeUnit.MILLISECONDS).whenComplete((r, e) -> {
                    if (e == null) answer.complete(r);
                    else answer.completeExceptionally(new LogUnavailableException("committed to Kafka but not yet"
                            + " read back by this node's replica; retry with the same producer id", e));
                });
            });
        } catch (RuntimeException e) { // no metadata within max.block.ms, closed producer …
            notCommitted(answer, e);
        }
        return answer;
    }

    private void notCommitted(CompletableFuture<List<Appended>> answer, Throwable cause) {
        produceErrors.incrementAndGet();
        listener.produceFailed();
        answer.completeExceptionally(new LogUnavailableException("Kafka did not commit the publish: " + cause, cause));
    }

    /** The replicator: the only reader of the partition on this node and the replica's only writer. */
    private void replicate() {
        long logStartAsked = 0;
        while (!closed) {
            try {
                if (System.currentTimeMillis() - logStartAsked >= LOG_START_REFRESH_MILLIS) {
                    Long start = consumer.beginningOffsets(List.of(partition), Duration.ofSeconds(5)).get(partition);
                    if (start != null) advanceRetention(start);
                    logStartAsked = System.currentTimeMillis();
                }
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    apply(record);
                }
                consumer.currentLag(partition).ifPresent(lag -> highWatermark = replicaOffset + 1 + lag);
            } catch (WakeupException e) {
                // closing
            } catch (RuntimeException e) {
                if (closed) return;
                LOG.log(Level.WARNING, "replicating " + partition + " failed; retrying", e);
                sleepQuietly(500);
            }
        }
    }

    /** Records below {@code kafkaOffset} are gone from Kafka: from now on they are before retention here too. */
    private void advanceRetention(long kafkaOffset) {
        if (kafkaOffset > retentionStart) retentionStart = kafkaOffset;
    }

    private void apply(ConsumerRecord<byte[], byte[]> record) {
        long expected = index.size() == 0 && replicaOffset < 0 ? retentionStart : replicaOffset + 1;
        if (record.offset() > expected) {
            // the consumer's position fell below Kafka's log start (this node was away while retention
            // deleted records) and it was reset to the earliest record: what was skipped is before retention
            LOG.warning("records " + expected + ".." + (record.offset() - 1) + " of " + partition
                    + " were deleted by Kafka's retention before this node read them");
            advanceRetention(record.offset());
        }
        List<NewEvent> events;
        try {
            events = KafkaRecords.decode(record.value());
        } catch (IllegalArgumentException e) {
            LOG.warning("skipping Kafka record " + record.offset() + " of " + partition + ": " + e.getMessage());
            replicaOffset = record.offset();
            return;
        }
        List<Appended> answers = new ArrayList<>(events.size());
        synchronized (applyLock) {
            applyingTimeMillis = record.timestamp();
            List<Appended> local = replica.append(events);
            for (int i = 0; i < local.size(); i++) {
                Appended a = local.get(i);
                if (a.duplicate()) {
                    long entry = index.findLocal(a.offset().index());
                    Offset original = entry >= 0 ? new Offset(epoch, index.clusterAt(entry)) : null;
                    answers.add(new Appended(original, a.timeMillis(), true));
                } else {
                    long cluster = KafkaOffsets.index(record.offset(), i);
                    index.append(cluster, a.offset().index());
                    head = new Offset(epoch, cluster);
                    headTimeMillis = a.timeMillis();
                    answers.add(new Appended(head, a.timeMillis(), false));
                }
            }
            replicaOffset = record.offset();
        }
        Header request = record.headers().lastHeader(REQUEST_HEADER);
        if (request != null) {
            CompletableFuture<List<Appended>> waiting = pending.get(new String(request.value(), StandardCharsets.US_ASCII));
            if (waiting != null) waiting.complete(answers);
        }
    }

    /** Kafka offset of the last record this node's replica has applied, or -1. */
    public long replicaOffset() {
        return replicaOffset;
    }

    /**
     * True once the replica has applied every record Kafka had committed when this log was opened
     * (at once for a replica that was up to date). A node that rebuilds or catches up its replica
     * serves correctly meanwhile, only late: the gateway's readiness waits for this.
     */
    public boolean caughtUp() {
        return replicaOffset + 1 >= endAtOpen; // the replica's position only grows (skipped records too)
    }

    /** Records in Kafka this node's replica has not applied yet (high watermark minus position). */
    public long replicaLagEvents() {
        return Math.max(0, highWatermark - (replicaOffset + 1));
    }

    /** Publishes Kafka did not commit since this log was opened. */
    public long produceErrors() {
        return produceErrors.get();
    }

    @Override
    public Offset head() {
        return head;
    }

    @Override
    public Offset firstAvailable() {
        long entry = firstEntry();
        return entry >= index.size() ? head : new Offset(epoch, index.clusterAt(entry));
    }

    /** The first replica entry at or above {@link #retentionStart}: what this node may serve. */
    private long firstEntry() {
        long e = index.findCluster(KafkaOffsets.index(retentionStart, 0));
        return e >= 0 ? e : -e - 1;
    }

    @Override
    public long countBetween(Offset from, Offset to) {
        return Math.max(0, entryAfter(to) - entryAfter(from));
    }

    /** Number of replica entries at or before {@code offset}. */
    private long entryAfter(Offset offset) {
        long e = index.findCluster(offset.index());
        return e >= 0 ? e + 1 : -e - 1;
    }

    @Override
    public Cursor cursorAtStart() {
        long first = firstEntry();
        return first == 0 ? new ReplicaCursor(replica.cursorAtStart(), index, 0, Offset.start(epoch)) : cursorAtEntry(first);
    }

    /** A cursor whose next event is replica entry {@code entry} (> 0), positioned at the entry before it. */
    private Cursor cursorAtEntry(long entry) {
        Cursor local;
        try {
            local = replica.cursorAfter(new Offset(replica.epoch(), index.localAt(entry - 1)));
        } catch (GapException e) {
            throw new IllegalStateException("the replica lost an event its index names: " + e.getMessage(), e);
        }
        return new ReplicaCursor(local, index, entry, new Offset(epoch, index.clusterAt(entry - 1)));
    }

    @Override
    public Cursor cursorAtEnd() {
        synchronized (applyLock) {
            return new ReplicaCursor(replica.cursorAtEnd(), index, index.size(), head);
        }
    }

    @Override
    public Cursor cursorAfter(Offset after) throws GapException {
        long entry = entryOf(after);
        if (entry == NOT_YET_APPLIED) {
            // after the replica's head: read on from that head, skipping what is not after `after`
            Offset h = head;
            return new PastHeadCursor(h.isStart() ? cursorAtStart() : cursorAfter(h), after);
        }
        if (entry < 0) return cursorAtStart();
        long next = entry + 1;
        Cursor local;
        try {
            local = replica.cursorAfter(new Offset(replica.epoch(), index.localAt(entry)));
        } catch (GapException e) {
            throw new IllegalStateException("the replica lost an event its index names: " + e.getMessage(), e);
        }
        return new ReplicaCursor(local, index, next, after);
    }

    /** The index alone answers: an event the replica's index names is in the replica. */
    @Override
    public void check(Offset after) throws GapException {
        entryOf(after);
    }

    /** {@link #entryOf}: Kafka committed the record of {@code after}, and this node has not applied it yet. */
    private static final long NOT_YET_APPLIED = -2;

    /**
     * The replica index entry of {@code after}, -1 for the start, or {@link #NOT_YET_APPLIED}; throws
     * the gap {@link #cursorAfter} would have.
     */
    private long entryOf(Offset after) throws GapException {
        if (!after.epoch().equals(epoch)) throw new GapException(new Gap(Gap.Reason.OTHER_EPOCH, firstAvailable()));
        long start = retentionStart;
        if (after.isStart()) {
            if (start > 0) throw new GapException(new Gap(Gap.Reason.BEFORE_RETENTION, firstAvailable()));
            return -1;
        }
        long applied = replicaOffset; // before the head: the head holds every event of this record
        Offset h = head;
        if (after.index() > h.index()) {
            // Past this node's head. If its record is one Kafka has committed and this replica has not
            // applied yet (another node served it; this one is a little behind), it will be applied
            // here: resume after it. Otherwise no node can have served it.
            long record = KafkaOffsets.kafkaOffset(after.index());
            if (record > applied && record < highWatermark) return NOT_YET_APPLIED;
            throw new GapException(new Gap(Gap.Reason.AHEAD_OF_HEAD, firstAvailable()));
        }
        // `after` is in a record Kafka no longer holds: before retention on every node, whatever its
        // replica still has (a node that never read the record cannot tell what followed it in its batch)
        if (KafkaOffsets.kafkaOffset(after.index()) < start) {
            throw new GapException(new Gap(Gap.Reason.BEFORE_RETENTION, firstAvailable()));
        }
        long entry = index.findCluster(after.index());
        if (entry < 0) throw new GapException(new Gap(Gap.Reason.UNKNOWN_OFFSET, firstAvailable()));
        return entry;
    }

    @Override
    public Cursor cursorAtTime(long timeMillis) {
        Cursor local = replica.cursorAtTime(timeMillis);
        Offset p = local.position();
        long entry = p.isStart() ? 0 : entryAfterLocal(p.index());
        long first = firstEntry();
        if (entry < first) {
            local.close();
            return cursorAtEntry(first); // the time falls below Kafka's log start: begin at the first served event
        }
        Offset position = entry == 0 ? Offset.start(epoch) : new Offset(epoch, index.clusterAt(entry - 1));
        return new ReplicaCursor(local, index, entry, position);
    }

    private long entryAfterLocal(long localIndex) {
        long e = index.findLocal(localIndex);
        return e >= 0 ? e + 1 : -e - 1;
    }

    /**
     * Kafka's retention governs the cluster log: records below Kafka's log start are before retention
     * here too (never served), but the replica's files are not trimmed yet (docs/cluster.md).
     */
    @Override
    public int enforceRetention() {
        return 0;
    }

    @Override
    public LogStats stats() {
        LogStats local = replica.stats();
        long events = index.size();
        return new LogStats(epoch, events == 0 ? null : firstAvailable(), head, local.firstTimeMillis(), headTimeMillis,
                events, local.files(), local.bytes());
    }

    @Override
    public VerifyReport verify(LongConsumer progress) {
        return replica.verify(progress);
    }

    @Override
    public TailRepair tailRepair() {
        return null;
    }

    @Override
    public boolean isWritable() {
        return !closed && replicator.isAlive();
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        consumer.wakeup();
        try {
            replicator.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        consumer.close(Duration.ofSeconds(1));
        producer.close(Duration.ofSeconds(1));
        index.close();
        replica.close();
    }

    /** The replica and its index must name the same events; otherwise the replica is rebuilt. */
    private void checkInStep() {
        long size = index.size();
        long localHead = replica.head().index();
        long indexed = size == 0 ? 0 : index.localAt(size - 1);
        if (localHead != indexed) {
            throw new IllegalStateException("the replica in " + config.replicaDir() + " is out of step with its index"
                    + " (a crash between the two writes); delete the directory and the node rebuilds it from Kafka");
        }
    }

    private record TopicFacts(org.apache.kafka.common.Uuid topicId, long logStart) {}

    private static TopicFacts describe(KafkaLogConfig config) {
        try (Admin admin = Admin.create(KafkaClients.admin(config.bootstrapServers(), config.produceTimeoutMillis()))) {
            TopicDescription d = admin.describeTopics(List.of(config.topic())).allTopicNames()
                    .get(30, TimeUnit.SECONDS).get(config.topic());
            if (d.partitions().size() != 1) {
                throw new IllegalStateException("topic " + config.topic() + " has " + d.partitions().size()
                        + " partitions; Tidings needs exactly one (one global order)");
            }
            TopicPartition tp = new TopicPartition(config.topic(), 0);
            long logStart = admin.listOffsets(Map.of(tp, org.apache.kafka.clients.admin.OffsetSpec.earliest()))
                    .partitionResult(tp).get(30, TimeUnit.SECONDS).offset();
            return new TopicFacts(d.topicId(), logStart);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("cannot describe Kafka topic " + config.topic() + " at "
                    + config.bootstrapServers() + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    static void sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The replica directory's own facts: the epoch it replicates and the Kafka offset it began at. */
    private static final class ReplicaState {
        private ReplicaState() {}

        /** Returns the replica's origin; wipes a replica of another epoch (the topic was recreated). */
        static long prepare(Path dir, String epoch, long logStart) {
            Path file = dir.resolve("replica.properties");
            try {
                if (Files.exists(file)) {
                    Properties p = new Properties();
                    try (var in = Files.newBufferedReader(file)) {
                        p.load(in);
                    }
                    if (epoch.equals(p.getProperty("epoch"))) return Long.parseLong(p.getProperty("origin"));
                    LOG.warning("replica in " + dir + " is of epoch " + p.getProperty("epoch") + ", the topic's is "
                            + epoch + " (recreated topic): rebuilding it");
                    deleteTree(dir);
                }
                Files.createDirectories(dir);
                Path tmp = dir.resolve("replica.properties.tmp");
                Files.writeString(tmp, "epoch=" + epoch + "\norigin=" + logStart + "\n");
                Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                return logStart;
            } catch (IOException e) {
                throw new UncheckedIOException("cannot prepare the replica in " + dir, e);
            }
        }

        private static void deleteTree(Path root) throws IOException {
            try (Stream<Path> walk = Files.walk(root)) {
                for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
            }
        }
    }
}
