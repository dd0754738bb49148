package io.tidings.server.hub;

import io.tidings.storage.Event;
import io.tidings.storage.Offset;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The dispatcher's window of recent events: where "after index" starts, and both bounds. */
class RecentEventsTest {
    /** Log indices with holes, as Chronicle's are across a roll: 10, 20, 30 … */
    static Frames event(long index, int dataBytes) {
        return new Frames(new Event(new Offset("e", index), 0, List.of("r"), "t", new byte[dataBytes], null));
    }

    static void addEvents(RecentEvents ring, int n, int dataBytes) {
        for (int i = 1; i <= n; i++) ring.add(event(i * 10L, dataBytes), (i - 1) * 10L);
    }

    @Test
    void findsTheFirstEventAfterAnIndexIncludingOneBetweenEvents() {
        RecentEvents ring = new RecentEvents(8, 1 << 20);
        addEvents(ring, 5, 1); // 10 … 50, the first one after index 0
        assertThat(ring.seqAfter(0)).isEqualTo(0);
        assertThat(ring.seqAfter(10)).isEqualTo(1);
        assertThat(ring.seqAfter(25)).isEqualTo(2); // not an event's index: the next one is 30
        assertThat(ring.seqAfter(40)).isEqualTo(4);
        assertThat(ring.seqAfter(50)).as("at the newest: caught up").isEqualTo(5);
        assertThat(ring.seqAfter(70)).as("past the newest: caught up too (a node behind Kafka)").isEqualTo(5);
        assertThat(ring.get(2).event().offset().index()).isEqualTo(30);
        assertThat(ring.get(5)).as("not offered yet").isNull();
        assertThat(ring.seqAfter(-5)).as("before the first event's predecessor: not held").isEqualTo(-1);
    }

    @Test
    void dropsTheOldestBeyondTheCountAndAReaderThereIsToldSo() {
        RecentEvents ring = new RecentEvents(4, 1 << 20);
        addEvents(ring, 6, 1); // holds 30, 40, 50, 60
        assertThat(ring.size()).isEqualTo(4);
        assertThat(ring.get(1)).isSameAs(RecentEvents.EVICTED);
        assertThat(ring.get(2).event().offset().index()).isEqualTo(30);
        assertThat(ring.seqAfter(10)).as("the event after 10 (20) is gone").isEqualTo(-1);
        assertThat(ring.seqAfter(20)).as("everything after 20 is held").isEqualTo(2);
    }

    @Test
    void boundsTheBytesOfDataAndEncodedFrames() {
        RecentEvents ring = new RecentEvents(1024, 1000);
        addEvents(ring, 5, 100);
        assertThat(ring.bytes()).isEqualTo(500);
        ring.get(4).get("native", "room", e -> new byte[300]); // a frame encoded later counts too
        ring.get(4).get("native", "room", e -> new byte[300]); // once
        assertThat(ring.bytes()).isEqualTo(800);
        ring.add(event(60, 400), 50); // 1,200 > 1,000: the oldest go until it fits
        assertThat(ring.bytes()).isEqualTo(1000);
        assertThat(ring.size()).isEqualTo(4); // 30, 40 (100 each), 50 (100 + 300), 60 (400)
        assertThat(ring.seqAfter(10)).isEqualTo(-1);
        assertThat(ring.get(0)).isSameAs(RecentEvents.EVICTED);
        assertThat(new RecentEvents(0, 1000).seqAfter(0)).as("off").isEqualTo(-1);
        RecentEvents off = new RecentEvents(16, 0);
        off.add(event(1, 1), 0);
        assertThat(off.size()).isZero();
        assertThat(off.bytes()).isZero();
    }

    @Test
    void aDroppedEventIsNotHeldByTheRing() throws InterruptedException {
        RecentEvents ring = new RecentEvents(1024, 1000);
        Frames first = event(10, 600);
        java.lang.ref.WeakReference<Frames> dropped = new java.lang.ref.WeakReference<>(first);
        ring.add(first, 0);
        first = null;
        ring.add(event(20, 600), 10); // over the bytes: the first goes, long before its slot comes round
        for (int i = 0; i < 50 && dropped.get() != null; i++) {
            System.gc();
            Thread.sleep(10);
        }
        assertThat(dropped.get()).as("the dropped event is garbage").isNull();
    }

    @Test
    void anEventEncodedAfterItWasDroppedIsNotCounted() {
        RecentEvents ring = new RecentEvents(2, 1 << 20);
        addEvents(ring, 2, 10);
        Frames first = ring.get(0); // a reader holds it
        ring.add(event(30, 10), 20); // drops the first
        first.get("socketio", "room", e -> new byte[500]);
        assertThat(ring.bytes()).isEqualTo(20);
    }
}
