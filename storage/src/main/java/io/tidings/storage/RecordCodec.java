package io.tidings.storage;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * Encodes and decodes one event record (layout in {@link ChronicleEventLog}). Keeps a reusable
 * buffer, so each instance belongs to one thread at a time (the writer under its lock, or a cursor).
 */
final class RecordCodec {
    static final byte VERSION = 1;
    private static final int FIXED_BYTES = 1 + 8 + 2 + 2 + 2 + 4 + 4;

    private ByteBuffer buffer = ByteBuffer.allocate(1024);
    private final CRC32C crc = new CRC32C();

    /** Upper bound of the encoded size, for free-space checks before writing. */
    static long estimateBytes(NewEvent e) {
        long n = FIXED_BYTES + e.data().length + e.type().length() * 3L;
        for (String room : e.rooms()) n += 2 + room.length() * 3L;
        if (e.producerId() != null) n += e.producerId().length() * 3L;
        return n;
    }

    /** Encodes into the internal buffer; returns its array, valid for {@code length()} bytes until the next call. */
    byte[] encode(long timeMillis, NewEvent e) {
        byte[] pid = e.producerId() == null ? new byte[0] : e.producerId().getBytes(StandardCharsets.UTF_8);
        byte[] type = e.type().getBytes(StandardCharsets.UTF_8);
        byte[][] rooms = new byte[e.rooms().size()][];
        int size = FIXED_BYTES + pid.length + type.length + e.data().length;
        for (int i = 0; i < rooms.length; i++) {
            rooms[i] = e.rooms().get(i).getBytes(StandardCharsets.UTF_8);
            size += 2 + rooms[i].length;
        }
        ByteBuffer b = buffer(size);
        b.put(VERSION).putLong(timeMillis);
        putShortBytes(b, pid);
        putShortBytes(b, type);
        b.putShort((short) rooms.length);
        for (byte[] room : rooms) putShortBytes(b, room);
        b.putInt(e.data().length).put(e.data());
        crc.reset();
        crc.update(b.array(), 0, b.position());
        b.putInt((int) crc.getValue());
        return b.array();
    }

    int length() {
        return buffer.position();
    }

    /** A buffer of at least {@code size} bytes for reading a record into. */
    byte[] scratch(int size) {
        return buffer(size).array();
    }

    Event decode(byte[] record, int length, Offset offset) {
        if (length < FIXED_BYTES) throw new CorruptRecordException(offset.index(), "record of " + length + " bytes is too short");
        crc.reset();
        crc.update(record, 0, length - 4);
        ByteBuffer b = ByteBuffer.wrap(record, 0, length);
        if (b.getInt(length - 4) != (int) crc.getValue()) throw new CorruptRecordException(offset.index(), "checksum mismatch");
        try {
            byte version = b.get();
            if (version != VERSION) throw new CorruptRecordException(offset.index(), "unknown record version " + version);
            long time = b.getLong();
            String pid = getShortString(b);
            String type = getShortString(b);
            int roomCount = Short.toUnsignedInt(b.getShort());
            List<String> rooms = new ArrayList<>(roomCount);
            for (int i = 0; i < roomCount; i++) rooms.add(getShortString(b));
            int dataLength = b.getInt();
            if (dataLength < 0 || dataLength > b.remaining() - 4) {
                throw new CorruptRecordException(offset.index(), "bad data length " + dataLength);
            }
            byte[] data = new byte[dataLength];
            b.get(data);
            return new Event(offset, time, List.copyOf(rooms), type, data, pid.isEmpty() ? null : pid);
        } catch (BufferUnderflowException e) {
            throw new CorruptRecordException(offset.index(), "record is truncated");
        }
    }

    private ByteBuffer buffer(int size) {
        if (buffer.capacity() < size) buffer = ByteBuffer.allocate(Math.max(size, buffer.capacity() * 2));
        buffer.clear();
        return buffer;
    }

    private static void putShortBytes(ByteBuffer b, byte[] bytes) {
        b.putShort((short) bytes.length).put(bytes);
    }

    private static String getShortString(ByteBuffer b) {
        int n = Short.toUnsignedInt(b.getShort());
        String s = new String(b.array(), b.arrayOffset() + b.position(), n, StandardCharsets.UTF_8);
        b.position(b.position() + n);
        return s;
    }
}
