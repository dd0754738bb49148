package io.tidings.bench;

import io.tidings.storage.NewEvent;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * The event every storage benchmark writes, shaped like a real notification: room
 * {@code teamspaceA/<uuid>} (47 bytes), type {@code newIssues}, 150 bytes of JSON data, no
 * producer id. Tidings stores it as a 231-byte record; the raw side writes the same 231 bytes.
 */
final class SampleEvent {
    static final String ROOM = room(0);
    static final String TYPE = "newIssues";
    static final byte[] DATA = json(150);
    static final byte[] TYPE_BYTES = TYPE.getBytes(StandardCharsets.UTF_8);
    static final int BATCH = 100;

    private SampleEvent() {}

    static NewEvent newEvent() {
        return new NewEvent(ROOM, TYPE, DATA);
    }

    /** Room number {@code i}: {@code teamspaceA/<uuid>}, 47 bytes whatever {@code i}; room 0 is {@link #ROOM}. */
    static String room(int i) {
        return "teamspaceA/" + UUID.nameUUIDFromBytes(("model-" + (42 + i)).getBytes(StandardCharsets.UTF_8));
    }

    /** {@code size} events whose rooms go round {@code rooms} distinct ones (each its own {@code String}). */
    static List<NewEvent> batch(int size, int rooms) {
        List<NewEvent> batch = new ArrayList<>(size);
        for (int i = 0; i < size; i++) batch.add(new NewEvent(room(i % rooms), TYPE, DATA));
        return List.copyOf(batch);
    }

    static List<NewEvent> batch(int size) {
        return batch(size, 1);
    }

    /** A JSON object of exactly {@code size} bytes. */
    private static byte[] json(int size) {
        String head = "{\"modelId\":\"" + UUID.nameUUIDFromBytes("model-42".getBytes(StandardCharsets.UTF_8))
                + "\",\"issues\":[{\"id\":\"ISS-1042\",\"status\":\"open\"}],\"by\":\"alice\",\"note\":\"";
        String tail = "\"}";
        int pad = size - head.length() - tail.length();
        if (pad < 0) throw new IllegalStateException("sample JSON longer than " + size);
        byte[] b = (head + "x".repeat(pad) + tail).getBytes(StandardCharsets.UTF_8);
        if (b.length != size) throw new IllegalStateException("sample JSON is " + b.length + " bytes");
        return b;
    }
}
