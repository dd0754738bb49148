package io.tidings.kafka;

import java.nio.file.Path;
import java.util.Objects;

/**
 * Settings of one node's {@link KafkaEventLog}. Immutable.
 *
 * @param bootstrapServers     {@code host:port,...} of the Kafka cluster (the only place the log connects to)
 * @param topic                the events topic: one partition (created by the operator, see docs/cluster.md)
 * @param replicaDir           this node's read replica (a Chronicle log rebuilt from Kafka when missing)
 * @param produceTimeoutMillis how long a publish waits for Kafka's commit before it fails (503)
 * @param dedupeWindowMillis   how long a producer id is remembered, by event time, in log order
 * @param dedupeMaxIds         most producer ids remembered at once
 * @param lingerMillis         how long the producer waits to send concurrent publishes in one request
 *                             (Kafka's {@code linger.ms}: each publish waits up to this long; more
 *                             publishes per request cost the brokers less CPU per publish)
 */
public record KafkaLogConfig(String bootstrapServers, String topic, Path replicaDir, long produceTimeoutMillis,
                             long dedupeWindowMillis, int dedupeMaxIds, int lingerMillis) {

    public static final long DEFAULT_PRODUCE_TIMEOUT_MILLIS = 10_000;
    public static final int DEFAULT_LINGER_MILLIS = 1;

    public KafkaLogConfig {
        Objects.requireNonNull(bootstrapServers, "bootstrapServers");
        Objects.requireNonNull(topic, "topic");
        Objects.requireNonNull(replicaDir, "replicaDir");
        if (bootstrapServers.isBlank()) throw new IllegalArgumentException("kafkaBootstrapServers is empty");
        if (topic.isBlank()) throw new IllegalArgumentException("kafkaTopic is empty");
        if (produceTimeoutMillis < 1) throw new IllegalArgumentException("kafkaProduceTimeoutMillis must be >= 1");
        if (lingerMillis < 0 || lingerMillis > 1_000) throw new IllegalArgumentException("kafkaLingerMs must be 0..1000");
    }

    public static KafkaLogConfig of(String bootstrapServers, String topic, Path replicaDir) {
        return new KafkaLogConfig(bootstrapServers, topic, replicaDir, DEFAULT_PRODUCE_TIMEOUT_MILLIS,
                io.tidings.storage.LogConfig.DEFAULT_DEDUPE_WINDOW_MILLIS, io.tidings.storage.LogConfig.DEFAULT_DEDUPE_MAX_IDS,
                DEFAULT_LINGER_MILLIS);
    }

    public KafkaLogConfig withProduceTimeoutMillis(long v) {
        return new KafkaLogConfig(bootstrapServers, topic, replicaDir, v, dedupeWindowMillis, dedupeMaxIds, lingerMillis);
    }
}
