package io.tidings.storage;

import java.util.Arrays;
import java.util.List;

/**
 * The type and rooms of the records a cursor read recently, keyed by their bytes in the record.
 * A cursor meets the same few (type, rooms) combinations over and over, and comparing their bytes
 * with the ones seen before costs less than decoding and allocating the strings and the list again.
 * The strings and the immutable list are then shared between the events a cursor returns, which
 * callers cannot tell apart from fresh ones.
 *
 * <p>A direct-mapped table of {@value #SLOTS} slots, each holding the bytes of one names region
 * and what they decoded to. A region that maps to an empty slot takes it; one that maps to a taken
 * slot replaces it only on every {@value #ADMIT_EVERY}th such miss, so that a cursor reading more
 * distinct names than there are slots copies few keys in vain (measured: with 1000 rooms in turn,
 * every lookup misses) while names that keep coming back still get in. Regions longer than
 * {@value #MAX_CACHED_BYTES} bytes are decoded every time, which bounds the table at about 10 KB.
 *
 * <p>Not thread-safe: belongs to one {@link RecordCodec}.
 */
final class RecentNames {
    /** An event's type and rooms. */
    record Names(String type, List<String> rooms) {}

    /** Decodes a names region {@code b[from, to)}. */
    @FunctionalInterface
    interface Decoder {
        Names decode(byte[] b, int from, int to);
    }

    private static final int SLOTS = 32;
    private static final int SLOT_BITS = Integer.numberOfTrailingZeros(SLOTS);
    static final int MAX_CACHED_BYTES = 256;
    /** A miss replaces a taken slot only every this many misses (a power of two). */
    private static final int ADMIT_EVERY = 4;

    private final byte[][] bytes = new byte[SLOTS][];
    private final Names[] names = new Names[SLOTS];
    private int misses;

    /** The names in {@code b[from, to)}: the ones decoded earlier from the same bytes, or {@code decoder}'s. */
    Names get(byte[] b, int from, int to, Decoder decoder) {
        int n = to - from;
        if (n <= 0 || n > MAX_CACHED_BYTES) return decoder.decode(b, from, to);
        int h = n;
        h = 31 * h + b[to - 1];
        h = 31 * h + b[to - 1 - (n >> 2)];
        h = 31 * h + b[from + (n >> 1)];
        int slot = (h * 0x9E3779B9) >>> (32 - SLOT_BITS);
        byte[] held = bytes[slot];
        if (held != null && Arrays.equals(held, 0, held.length, b, from, to)) return names[slot];
        Names decoded = decoder.decode(b, from, to);
        if (held != null && (++misses & (ADMIT_EVERY - 1)) != 0) return decoded;
        bytes[slot] = Arrays.copyOfRange(b, from, to);
        names[slot] = decoded;
        return decoded;
    }
}
