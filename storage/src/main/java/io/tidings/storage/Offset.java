package io.tidings.storage;

import java.util.Objects;

/**
 * A position in one log: the log's epoch plus an index that strictly increases in append order.
 *
 * <p>Clients see an offset only as its opaque token {@code <epoch>-<index>} (for example
 * {@code k3f9a2c1q0-2142041924435966}), so a JavaScript client never loses precision and an offset
 * minted by another log (another epoch) is recognised instead of mis-read. Index {@code 0} is the
 * position before the first event ever appended ({@link #start(String)}).
 *
 * <p>Immutable and thread-safe.
 */
public record Offset(String epoch, long index) implements Comparable<Offset> {

    public Offset {
        Objects.requireNonNull(epoch, "epoch");
        if (index < 0) throw new IllegalArgumentException("negative offset index " + index);
    }

    /** The position before the first event of the log with this epoch. */
    public static Offset start(String epoch) {
        return new Offset(epoch, 0);
    }

    /**
     * Parses an offset token.
     *
     * @throws IllegalArgumentException with a readable message if the token is not an offset
     */
    public static Offset parse(String token) {
        if (token == null || token.isEmpty()) throw new IllegalArgumentException("offset is empty");
        if (token.length() > 64) throw new IllegalArgumentException("offset is too long");
        int dash = token.lastIndexOf('-');
        if (dash <= 0 || dash == token.length() - 1) {
            throw new IllegalArgumentException("offset must look like <epoch>-<index>: " + token);
        }
        String epoch = token.substring(0, dash);
        if (!Epochs.isWellFormed(epoch)) throw new IllegalArgumentException("offset has a malformed epoch: " + token);
        for (int i = dash + 1; i < token.length(); i++) {
            char c = token.charAt(i);
            if (c < '0' || c > '9' || (c == '0' && i == dash + 1 && i < token.length() - 1)) {
                throw new IllegalArgumentException("offset index must be a canonical decimal number: " + token);
            }
        }
        long index;
        try {
            index = Long.parseLong(token, dash + 1, token.length(), 10);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("offset has a malformed index: " + token);
        }
        if (index < 0) throw new IllegalArgumentException("offset has a negative index: " + token);
        return new Offset(epoch, index);
    }

    public boolean isStart() {
        return index == 0;
    }

    /** Orders offsets of one epoch; offsets of different epochs are not comparable. */
    @Override
    public int compareTo(Offset other) {
        if (!epoch.equals(other.epoch)) throw new IllegalArgumentException("offsets of different epochs");
        return Long.compare(index, other.index);
    }

    /** The opaque token clients store and send back. */
    @Override
    public String toString() {
        return epoch + "-" + index;
    }
}
