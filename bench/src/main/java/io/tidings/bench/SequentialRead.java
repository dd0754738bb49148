package io.tidings.bench;

import io.tidings.storage.Event;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

import java.util.concurrent.TimeUnit;

/**
 * One event per call from a pre-filled log (1M events, in the page cache), starting over at the
 * end. Tidings: {@code cursor.next()} (checks the CRC, decodes into an {@code Event}); raw: a
 * tailer copying the payload into a new {@code byte[]}. Score: events/s.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class SequentialRead {

    @Benchmark
    public Event tidings(Logs.TidingsFilled s) {
        Event e = s.cursor.next();
        if (e == null) {
            s.rewind();
            e = s.cursor.next();
        }
        return e;
    }

    @Benchmark
    public byte[] raw(Logs.RawFilled s, Blackhole bh) {
        byte[] record = RawRecord.read(s.tailer, s.index);
        if (record == null) {
            s.tailer.toStart();
            record = RawRecord.read(s.tailer, s.index);
        }
        bh.consume(s.index[0]);
        return record;
    }
}
