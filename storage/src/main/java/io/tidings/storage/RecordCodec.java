package io.tidings.storage;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * Encodes and decodes one event record (layout in {@link ChronicleEventLog}). Keeps a reusable
 * buffer and the names it decoded recently, so each instance belongs to one thread at a time (the
 * writer under its lock, or a cursor).
 */
final class RecordCodec {
    static final byte VERSION = 1;
    private static final int FIXED_BYTES = 1 + 8 + 2 + 2 + 2 + 4 + 4;

    private static final VarHandle SHORT = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.BIG_ENDIAN);
    private static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.BIG_ENDIAN);
    private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);

    private ByteBuffer buffer = ByteBuffer.allocate(1024);
    private final CRC32C crc = new CRC32C();
    private final RecentNames recentNames = new RecentNames();

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

    /**
     * Decodes the record in {@code record[0, length)}: checks the CRC32C over everything before the
     * trailer, then reads the fields by index, each checked to lie before the trailer, and the data
     * to end exactly where the trailer begins. The type and rooms come from {@link RecentNames}.
     *
     * @throws CorruptRecordException if the checksum, the version or a length does not fit
     */
    Event decode(byte[] record, int length, Offset offset) {
        long index = offset.index();
        if (length < FIXED_BYTES) throw new CorruptRecordException(index, "record of " + length + " bytes is too short");
        int body = length - 4;
        crc.reset();
        crc.update(record, 0, body);
        if ((int) INT.get(record, body) != (int) crc.getValue()) throw new CorruptRecordException(index, "checksum mismatch");
        byte version = record[0];
        if (version != VERSION) throw new CorruptRecordException(index, "unknown record version " + version);
        long time = (long) LONG.get(record, 1);
        int p = 9;
        int n = lengthAt(record, p, body, index);
        String pid = n == 0 ? null : new String(record, p + 2, n, StandardCharsets.UTF_8);
        p += 2 + n;
        int namesFrom = p;
        p += 2 + lengthAt(record, p, body, index); // type
        int roomCount = unsignedShort(record, p, body, index);
        p += 2;
        for (int i = 0; i < roomCount; i++) p += 2 + lengthAt(record, p, body, index);
        RecentNames.Names names = recentNames.get(record, namesFrom, p, RecordCodec::names);
        if (body - p < 4) throw truncated(index);
        int dataLength = (int) INT.get(record, p);
        p += 4;
        if (dataLength != body - p) throw new CorruptRecordException(index, "data length " + dataLength + " does not fit the record");
        return new Event(offset, time, names.rooms(), names.type(), Arrays.copyOfRange(record, p, body), pid);
    }

    /** The type and rooms in {@code b[from, to)}, whose lengths {@link #decode} has checked. */
    private static RecentNames.Names names(byte[] b, int from, int to) {
        int n = Short.toUnsignedInt((short) SHORT.get(b, from));
        String type = new String(b, from + 2, n, StandardCharsets.UTF_8);
        int p = from + 2 + n;
        String[] rooms = new String[Short.toUnsignedInt((short) SHORT.get(b, p))];
        p += 2;
        for (int i = 0; i < rooms.length; i++) {
            n = Short.toUnsignedInt((short) SHORT.get(b, p));
            rooms[i] = new String(b, p + 2, n, StandardCharsets.UTF_8);
            p += 2 + n;
        }
        return new RecentNames.Names(type, List.of(rooms));
    }

    /** A u16 at {@code p} that is followed by that many bytes, all before {@code end}. */
    private static int lengthAt(byte[] record, int p, int end, long index) {
        int n = unsignedShort(record, p, end, index);
        if (end - p - 2 < n) throw truncated(index);
        return n;
    }

    private static int unsignedShort(byte[] record, int p, int end, long index) {
        if (end - p < 2) throw truncated(index);
        return Short.toUnsignedInt((short) SHORT.get(record, p));
    }

    private static CorruptRecordException truncated(long index) {
        return new CorruptRecordException(index, "record is truncated");
    }

    private ByteBuffer buffer(int size) {
        if (buffer.capacity() < size) buffer = ByteBuffer.allocate(Math.max(size, buffer.capacity() * 2));
        buffer.clear();
        return buffer;
    }

    private static void putShortBytes(ByteBuffer b, byte[] bytes) {
        b.putShort((short) bytes.length).put(bytes);
    }
}
