package io.tidings.bench;

import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.wire.DocumentContext;

import java.nio.charset.StandardCharsets;

/**
 * The raw Chronicle Queue side of each comparison: what an application using Chronicle directly
 * would do with the same event. It writes the same fields in the same layout and size as Tidings'
 * record (version, time, producer id, type, rooms, data, 4-byte trailer), straight from
 * pre-encoded bytes into the document; it computes no CRC (the trailer is written as 0). Reading
 * copies the document payload into a fresh {@code byte[]} and takes the index, the least a consumer
 * that keeps the event and can resume needs.
 */
final class RawRecord {
    static final int SIZE = 1 + 8 + 2 + 2 + SampleEvent.TYPE_BYTES.length + 2 + 2 + SampleEvent.ROOM.length()
            + 4 + SampleEvent.DATA.length + 4;

    private static final byte[] ROOM_BYTES = SampleEvent.ROOM.getBytes(StandardCharsets.UTF_8);

    private RawRecord() {}

    static void write(ExcerptAppender appender, long timeMillis) {
        write(appender, timeMillis, ROOM_BYTES);
    }

    /** The record of the sample event in the room whose UTF-8 bytes are {@code room}. */
    static void write(ExcerptAppender appender, long timeMillis, byte[] room) {
        try (DocumentContext dc = appender.writingDocument()) {
            Bytes<?> b = dc.wire().bytes();
            b.writeByte((byte) 1);
            b.writeLong(timeMillis);
            b.writeShort((short) 0);
            b.writeShort((short) SampleEvent.TYPE_BYTES.length);
            b.write(SampleEvent.TYPE_BYTES);
            b.writeShort((short) 1);
            b.writeShort((short) room.length);
            b.write(room);
            b.writeInt(SampleEvent.DATA.length);
            b.write(SampleEvent.DATA);
            b.writeInt(0);
        }
    }

    /** The next record's bytes, or null at the end of the queue; {@code index[0]} receives its index. */
    static byte[] read(ExcerptTailer tailer, long[] index) {
        try (DocumentContext dc = tailer.readingDocument()) {
            if (!dc.isPresent()) return null;
            index[0] = dc.index();
            Bytes<?> b = dc.wire().bytes();
            byte[] copy = new byte[(int) b.readRemaining()];
            b.read(copy);
            return copy;
        }
    }
}
