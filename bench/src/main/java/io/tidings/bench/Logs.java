package io.tidings.bench;

import io.tidings.storage.Cursor;
import io.tidings.storage.Durability;
import io.tidings.storage.EventLog;
import io.tidings.storage.LogConfig;
import io.tidings.storage.NewEvent;
import net.openhft.chronicle.bytes.SyncMode;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.queue.RollCycles;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

/**
 * JMH states: a Tidings {@link EventLog} or a raw Chronicle queue in a temporary directory. Both
 * sides use the same roll cycle (Tidings' default, hourly = {@code FAST_HOURLY}). Append states
 * start every iteration with a fresh, empty log (so a run does not fill the disk) and delete it
 * afterwards; read states are filled once per trial. All are {@code Scope.Thread}: Chronicle
 * appenders and tailers are created in, and used by, the benchmark thread.
 */
public final class Logs {
    private Logs() {}

    static EventLog openTidings(Path dir, Durability durability) {
        return EventLog.open(LogConfig.at(dir).withDurability(durability));
    }

    static SingleChronicleQueue openRaw(Path dir, boolean sync) {
        SingleChronicleQueueBuilder b = SingleChronicleQueueBuilder.binary(dir).rollCycle(RollCycles.FAST_HOURLY);
        if (sync) b.syncMode(SyncMode.SYNC);
        return b.build();
    }

    /** Tidings' log with the default durability (process crash). */
    @State(Scope.Thread)
    public static class Tidings {
        Path dir;
        EventLog log;
        final NewEvent event = SampleEvent.newEvent();
        final List<NewEvent> batch = SampleEvent.batch(SampleEvent.BATCH);

        Durability durability() {
            return Durability.PROCESS_CRASH;
        }

        @Setup(Level.Iteration)
        public void open() {
            dir = BenchDirs.create("tidings");
            log = openTidings(dir, durability());
            CpuTime.start();
        }

        @TearDown(Level.Iteration)
        public void close() {
            CpuTime.stop();
            log.close();
            BenchDirs.delete(dir);
        }
    }

    /** Tidings' log that msyncs before an append returns. */
    @State(Scope.Thread)
    public static class TidingsPowerLoss extends Tidings {
        @Override
        Durability durability() {
            return Durability.POWER_LOSS;
        }
    }

    /** A raw Chronicle queue and its appender. */
    @State(Scope.Thread)
    public static class Raw {
        Path dir;
        SingleChronicleQueue queue;
        ExcerptAppender appender;

        boolean sync() {
            return false;
        }

        @Setup(Level.Iteration)
        public void open() {
            dir = BenchDirs.create("raw");
            queue = openRaw(dir, sync());
            appender = queue.createAppender();
            appender.singleThreadedCheckDisabled(true); // as Tidings does
            CpuTime.start();
        }

        @TearDown(Level.Iteration)
        public void close() {
            CpuTime.stop();
            appender.close();
            queue.close();
            BenchDirs.delete(dir);
        }
    }

    /** A raw Chronicle queue with {@code SyncMode.SYNC}, for {@code appender.sync()} after writes. */
    @State(Scope.Thread)
    public static class RawPowerLoss extends Raw {
        @Override
        boolean sync() {
            return true;
        }
    }

    /**
     * A Tidings log pre-filled with {@code events} sample events, their rooms going round
     * {@code rooms} distinct ones, and a cursor over it.
     */
    @State(Scope.Thread)
    public static class TidingsFilled {
        @Param("1000000")
        public int events;
        @Param("1")
        public int rooms;
        Path dir;
        EventLog log;
        Cursor cursor;

        @Setup(Level.Trial)
        public void fill() {
            dir = BenchDirs.create("tidings-read");
            log = openTidings(dir, Durability.PROCESS_CRASH);
            List<NewEvent> batch = SampleEvent.batch(1000, rooms);
            for (int n = 0; n < events; n += batch.size()) log.append(batch.subList(0, Math.min(batch.size(), events - n)));
            cursor = log.cursorAtStart();
        }

        @Setup(Level.Iteration)
        public void startClock() {
            CpuTime.start();
        }

        @TearDown(Level.Iteration)
        public void stopClock() {
            CpuTime.stop();
        }

        /** Back to the first event once the cursor has read them all. */
        void rewind() {
            cursor.close();
            cursor = log.cursorAtStart();
        }

        @TearDown(Level.Trial)
        public void close() {
            cursor.close();
            log.close();
            BenchDirs.delete(dir);
        }
    }

    /** A raw queue pre-filled with {@code events} records of the same size and rooms, and a tailer over it. */
    @State(Scope.Thread)
    public static class RawFilled {
        @Param("1000000")
        public int events;
        @Param("1")
        public int rooms;
        Path dir;
        SingleChronicleQueue queue;
        ExcerptTailer tailer;
        final long[] index = new long[1];

        @Setup(Level.Trial)
        public void fill() {
            dir = BenchDirs.create("raw-read");
            queue = openRaw(dir, false);
            try (ExcerptAppender appender = queue.createAppender()) {
                byte[][] roomBytes = new byte[rooms][];
                for (int r = 0; r < rooms; r++) roomBytes[r] = SampleEvent.room(r).getBytes(StandardCharsets.UTF_8);
                for (int n = 0; n < events; n++) RawRecord.write(appender, System.currentTimeMillis(), roomBytes[n % 1000 % rooms]);
            }
            tailer = queue.createTailer();
            tailer.singleThreadedCheckDisabled(true); // as Tidings' cursors do
        }

        @Setup(Level.Iteration)
        public void startClock() {
            CpuTime.start();
        }

        @TearDown(Level.Iteration)
        public void stopClock() {
            CpuTime.stop();
        }

        @TearDown(Level.Trial)
        public void close() {
            tailer.close();
            queue.close();
            BenchDirs.delete(dir);
        }
    }
}
