package io.tidings.kafka;

import io.tidings.storage.NewEvent;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The value of one Kafka record: one published batch, all of its events, so a batch is committed
 * whole or not at all (one produce request, no transaction). Big-endian:
 * <pre>
 *   u8   format (1)
 *   u16  event count, then per event:
 *        UTF producer id ("" = none), UTF type, u16 room count and per room a UTF name,
 *        i32 data length and the producer's JSON bytes verbatim
 * </pre>
 * (UTF = {@link DataOutputStream#writeUTF}: u16 length then modified UTF-8). Event times are the
 * record's Kafka timestamp, offsets come from its Kafka offset ({@link KafkaOffsets}).
 *
 * <p>Stateless and thread-safe.
 */
final class KafkaRecords {
    static final int FORMAT = 1;
    /** Most events in one batch: the position in a batch has 16 bits of the offset index. */
    static final int MAX_BATCH = KafkaOffsets.MAX_BATCH;

    private KafkaRecords() {}

    static byte[] encode(List<NewEvent> events) {
        if (events.size() > MAX_BATCH) throw new IllegalArgumentException("a batch holds at most " + MAX_BATCH + " events");
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeByte(FORMAT);
            out.writeShort(events.size());
            for (NewEvent e : events) {
                out.writeUTF(e.producerId() == null ? "" : e.producerId());
                out.writeUTF(e.type());
                out.writeShort(e.rooms().size());
                for (String room : e.rooms()) out.writeUTF(room);
                out.writeInt(e.data().length);
                out.write(e.data());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    /** @throws IllegalArgumentException if the value is not a Tidings batch */
    static List<NewEvent> decode(byte[] value) {
        try (DataInputStream in = new DataInputStream(new java.io.ByteArrayInputStream(value))) {
            int format = in.readUnsignedByte();
            if (format != FORMAT) throw new IllegalArgumentException("unknown record format " + format);
            int n = in.readUnsignedShort();
            List<NewEvent> events = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                String pid = in.readUTF();
                String type = in.readUTF();
                int roomCount = in.readUnsignedShort();
                List<String> rooms = new ArrayList<>(roomCount);
                for (int r = 0; r < roomCount; r++) rooms.add(in.readUTF());
                byte[] data = new byte[in.readInt()];
                in.readFully(data);
                events.add(new NewEvent(rooms, type, data, pid.isEmpty() ? null : pid));
            }
            return events;
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("not a Tidings record: " + e.getMessage(), e);
        }
    }
}
