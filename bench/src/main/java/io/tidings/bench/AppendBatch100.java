package io.tidings.bench;

import io.tidings.storage.Appended;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Warmup;

import java.util.List;
import java.util.concurrent.TimeUnit;

/** A batch of 100 events per call, process-crash durability. Score: events/s. */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
@OperationsPerInvocation(SampleEvent.BATCH)
public class AppendBatch100 {

    @Benchmark
    public List<Appended> tidings(Logs.Tidings s) {
        return s.log.append(s.batch);
    }

    @Benchmark
    public long raw(Logs.Raw s) {
        long now = System.currentTimeMillis();
        for (int i = 0; i < SampleEvent.BATCH; i++) RawRecord.write(s.appender, now);
        return s.appender.lastIndexAppended();
    }
}
