package io.tidings.storage;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32C;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The record format of {@link ChronicleEventLog} through {@link RecordCodec}: every field survives
 * the round trip (also when the decoder reuses names it has seen), and a record whose checksum is
 * right but whose lengths do not fit is refused as corrupt, never read out of bounds.
 */
class RecordCodecTest {
    private static final Offset AT = new Offset("k3f9a2c1q0", 42);

    @Test
    void everyFieldSurvivesTheRoundTripWhileNamesRepeatAndChange() {
        RecordCodec writer = new RecordCodec();
        RecordCodec reader = new RecordCodec();
        Random random = new Random(7);
        List<String> types = List.of("newIssues", "update#tasks", "ünïcødé-type", "t");
        for (int i = 0; i < 3_000; i++) {
            // 200 rooms over a 32-slot table: hits, misses and slots taken over by another room
            List<String> rooms = new ArrayList<>();
            int count = i % 5 == 0 ? 1 + random.nextInt(3) : 1;
            for (int r = 0; r < count; r++) rooms.add("teamspaceA/m" + random.nextInt(200) + (r == 2 ? "/😀" : ""));
            if (i % 97 == 0) rooms.add("x".repeat(300)); // longer than what RecentNames keeps
            String producerId = i % 3 == 0 ? "pid-" + i : null;
            byte[] data = ("{\"i\":" + i + "}").getBytes(StandardCharsets.UTF_8);
            if (i % 50 == 0) data = new byte[0];
            NewEvent in = new NewEvent(rooms, types.get(random.nextInt(types.size())), data, producerId);
            long time = 1_700_000_000_000L + i;

            Event out = decode(reader, record(writer, time, in));

            assertThat(out.offset()).isEqualTo(AT);
            assertThat(out.timeMillis()).isEqualTo(time);
            assertThat(out.rooms()).isEqualTo(in.rooms());
            assertThat(out.type()).isEqualTo(in.type());
            assertThat(out.data()).isEqualTo(in.data());
            assertThat(out.producerId()).isEqualTo(producerId);
        }
    }

    @Test
    void aDamagedByteFailsTheChecksum() {
        byte[] record = record(new RecordCodec(), 1L, TestEvents.withSeq(1));
        record[20] ^= 1;
        assertCorrupt(record, "checksum mismatch");
    }

    @Test
    void lengthsThatDoNotFitTheRecordAreRefusedEvenWithAValidChecksum() {
        NewEvent e = new NewEvent(List.of("room-a", "room-b"), "type", "{}".getBytes(StandardCharsets.UTF_8), null);
        byte[] good = record(new RecordCodec(), 1L, e);
        int type = 1 + 8 + 2, rooms = type + 2 + 4, data = rooms + 2 + (2 + 6) * 2;
        assertThat(ByteBuffer.wrap(good).getInt(data)).as("layout assumed below").isEqualTo(2);

        assertCorrupt(withCrc(withShort(good, type, 0xffff)), "truncated");                      // type runs past the body
        assertCorrupt(withCrc(withShort(good, rooms, 3)), "does not fit");  // a third room: its "length" is the data length's high half
        assertCorrupt(withCrc(withShort(good, rooms, 0xffff)), "truncated");
        assertCorrupt(withCrc(withShort(good, rooms + 2, 21)), "truncated");                      // a room that runs into the CRC
        assertCorrupt(withCrc(withInt(good, data, 3)), "data length 3");                          // data runs into the CRC
        assertCorrupt(withCrc(withInt(good, data, 1)), "data length 1");                          // a stray byte before the CRC
        assertCorrupt(withCrc(withInt(good, data, -1)), "data length -1");
        assertCorrupt(withCrc(withByte(good, 0, 2)), "unknown record version 2");
        assertCorrupt(withCrc(Arrays.copyOf(good, 12)), "too short");
        assertThat(decode(new RecordCodec(), withCrc(good)).rooms()).as("the unmodified record decodes").containsExactly("room-a", "room-b");
    }

    /** A fresh copy of the record the codec encodes, exactly as long as the record. */
    private static byte[] record(RecordCodec codec, long time, NewEvent e) {
        byte[] buffer = codec.encode(time, e);
        return Arrays.copyOf(buffer, codec.length());
    }

    /** Decodes from a larger scratch array holding stale bytes after the record, as a cursor's does. */
    private static Event decode(RecordCodec codec, byte[] record) {
        byte[] scratch = codec.scratch(record.length + 64);
        Arrays.fill(scratch, (byte) 0x7f);
        System.arraycopy(record, 0, scratch, 0, record.length);
        return codec.decode(scratch, record.length, AT);
    }

    private static void assertCorrupt(byte[] record, String message) {
        assertThatThrownBy(() -> decode(new RecordCodec(), record)).isInstanceOfSatisfying(CorruptRecordException.class, ex -> {
            assertThat(ex.index()).isEqualTo(AT.index());
            assertThat(ex.getMessage()).contains(message);
        });
    }

    private static byte[] withByte(byte[] record, int at, int value) {
        byte[] copy = record.clone();
        copy[at] = (byte) value;
        return copy;
    }

    private static byte[] withShort(byte[] record, int at, int value) {
        byte[] copy = record.clone();
        ByteBuffer.wrap(copy).putShort(at, (short) value);
        return copy;
    }

    private static byte[] withInt(byte[] record, int at, int value) {
        byte[] copy = record.clone();
        ByteBuffer.wrap(copy).putInt(at, value);
        return copy;
    }

    /** The record with its trailer set to the CRC32C of the bytes before it (as the writer would). */
    private static byte[] withCrc(byte[] record) {
        byte[] copy = record.clone();
        if (copy.length < 4) return copy;
        CRC32C crc = new CRC32C();
        crc.update(copy, 0, copy.length - 4);
        ByteBuffer.wrap(copy).putInt(copy.length - 4, (int) crc.getValue());
        return copy;
    }
}
