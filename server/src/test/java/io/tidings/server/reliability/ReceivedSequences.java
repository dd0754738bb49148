package io.tidings.server.reliability;

import io.tidings.storage.Offset;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What one client received, per room, in arrival order: the offset indexes of the events (one log,
 * one epoch), and the check that each room's sequence is exactly what was published to it.
 *
 * <p>Strict by default: every event received is recorded, so a repeat or a reordering shows in the
 * final check. Only after a client was explicitly told that its resume was refused (a fresh Socket.IO
 * session, {@code reject_history} in ActionCable) and {@link #reconcile reconciled} a room from the
 * audit replay does it skip that room's events up to the last one the replay returned (they come
 * again on the rejoined subscription), as an application must; those skips are counted. Past that
 * point the room is strict again.
 *
 * <p>Thread safety: every method is synchronized (a client's reader thread writes, the test reads).
 */
final class ReceivedSequences {
    private final String epoch;
    private final Map<String, List<Long>> byRoom = new HashMap<>();
    private final Map<String, Long> reconciledThrough = new HashMap<>();
    private int skippedAfterReconcile;

    ReceivedSequences(String epoch, List<String> rooms) {
        this.epoch = epoch;
        for (String r : rooms) byRoom.put(r, new ArrayList<>());
    }

    synchronized void received(String room, long index) {
        List<Long> seq = byRoom.get(room);
        if (seq == null) throw new AssertionError("an event of room " + room + ", which this client did not join (" + byRoom.keySet() + ")");
        if (index <= reconciledThrough.getOrDefault(room, -1L)) {
            skippedAfterReconcile++;
            return;
        }
        seq.add(index);
    }

    /** The offset to resume {@code room} from: the last event received, or the log's start. */
    synchronized String resumeOffset(String room) {
        List<Long> seq = byRoom.get(room);
        return new Offset(epoch, seq.isEmpty() ? 0 : seq.get(seq.size() - 1)).toString();
    }

    /** Appends what the audit replay returned after {@link #resumeOffset}; repeats of those (and earlier) events are skipped from now on. */
    synchronized void reconcile(String room, List<Long> replayed) {
        for (long index : replayed) received(room, index);
        List<Long> seq = byRoom.get(room);
        if (!seq.isEmpty()) reconciledThrough.put(room, seq.get(seq.size() - 1));
    }

    synchronized boolean matches(Map<String, List<Long>> published) {
        for (Map.Entry<String, List<Long>> e : byRoom.entrySet()) {
            if (!e.getValue().equals(published.getOrDefault(e.getKey(), List.of()))) return false;
        }
        return true;
    }

    synchronized void check(String who, Map<String, List<Long>> published) {
        for (Map.Entry<String, List<Long>> e : byRoom.entrySet()) {
            assertThat(e.getValue()).as("%s, room %s: every acknowledged event exactly once, in offset order", who, e.getKey())
                    .isEqualTo(published.getOrDefault(e.getKey(), List.of()));
        }
    }

    /** Diagnosis: per room, how many of the published events arrived and the last one that did. */
    synchronized String summary(Map<String, List<Long>> published) {
        StringBuilder b = new StringBuilder();
        for (Map.Entry<String, List<Long>> e : byRoom.entrySet()) {
            List<Long> seq = e.getValue();
            b.append(e.getKey()).append(": ").append(seq.size()).append('/').append(published.getOrDefault(e.getKey(), List.of()).size())
                    .append(" last=").append(seq.isEmpty() ? "-" : seq.get(seq.size() - 1)).append("; ");
        }
        return b.toString();
    }

    synchronized int events() {
        return byRoom.values().stream().mapToInt(List::size).sum();
    }

    synchronized int skippedAfterReconcile() {
        return skippedAfterReconcile;
    }

    synchronized List<String> rooms() {
        return List.copyOf(byRoom.keySet());
    }
}
