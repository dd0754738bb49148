package io.tidings.bench;

import io.tidings.storage.Appended;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/** One event per call, process-crash durability: the HTTP publish path. Score: events/s. */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class AppendSingle {

    @Benchmark
    public Appended tidings(Logs.Tidings s) {
        return s.log.append(s.event);
    }

    @Benchmark
    public long raw(Logs.Raw s) {
        RawRecord.write(s.appender, System.currentTimeMillis());
        return s.appender.lastIndexAppended();
    }
}
