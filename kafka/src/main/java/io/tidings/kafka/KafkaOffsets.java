package io.tidings.kafka;

import org.apache.kafka.common.Uuid;

/**
 * How a cluster offset is made from Kafka's: the index of event {@code i} of the batch in the
 * Kafka record at offset {@code k} is {@code ((k + 1) << 16) | i}, so it is the same on every node,
 * strictly increases in log order, and index 0 stays "before the first event". It stays below 2^53
 * (exact in JavaScript) up to Kafka offset 2^37. The epoch is derived from the topic's id, so a
 * recreated topic has another epoch.
 *
 * <p>Stateless and thread-safe.
 */
final class KafkaOffsets {
    static final int BATCH_BITS = 16;
    static final int MAX_BATCH = (1 << BATCH_BITS) - 1;
    private static final String ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz";
    private static final long EPOCH_SPACE = 4_738_381_338_321_616_896L; // 36^12

    private KafkaOffsets() {}

    static long index(long kafkaOffset, int positionInBatch) {
        return ((kafkaOffset + 1) << BATCH_BITS) | positionInBatch;
    }

    /** The Kafka offset of the record holding the event with this index (-1 for index 0). */
    static long kafkaOffset(long index) {
        return (index >>> BATCH_BITS) - 1;
    }

    /** 12 characters of [0-9a-z] (the shape of every Tidings epoch) from the topic id. */
    static String epoch(Uuid topicId) {
        long bits = topicId.getMostSignificantBits() ^ Long.rotateLeft(topicId.getLeastSignificantBits(), 17);
        long v = Long.remainderUnsigned(bits, EPOCH_SPACE);
        char[] c = new char[12];
        for (int i = 11; i >= 0; i--) {
            c[i] = ALPHABET.charAt((int) (v % 36));
            v /= 36;
        }
        return new String(c);
    }
}
