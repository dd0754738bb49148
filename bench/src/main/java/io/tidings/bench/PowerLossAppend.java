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

/**
 * Informative: appends that msync before returning (Tidings' {@code POWER_LOSS}; raw: a queue with
 * {@code SyncMode.SYNC} and {@code appender.sync()} after the write). One thread, so no group commit:
 * every call pays one msync. Measures this machine's disk as much as the code. Score: events/s.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class PowerLossAppend {

    @Benchmark
    public Appended singleTidings(Logs.TidingsPowerLoss s) {
        return s.log.append(s.event);
    }

    @Benchmark
    public long singleRaw(Logs.RawPowerLoss s) {
        RawRecord.write(s.appender, System.currentTimeMillis());
        s.appender.sync();
        return s.appender.lastIndexAppended();
    }

    @Benchmark
    @OperationsPerInvocation(SampleEvent.BATCH)
    public List<Appended> batch100Tidings(Logs.TidingsPowerLoss s) {
        return s.log.append(s.batch);
    }

    @Benchmark
    @OperationsPerInvocation(SampleEvent.BATCH)
    public long batch100Raw(Logs.RawPowerLoss s) {
        long now = System.currentTimeMillis();
        for (int i = 0; i < SampleEvent.BATCH; i++) RawRecord.write(s.appender, now);
        s.appender.sync();
        return s.appender.lastIndexAppended();
    }
}
