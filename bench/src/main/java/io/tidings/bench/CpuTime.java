package io.tidings.bench;

import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.profile.InternalProfiler;
import org.openjdk.jmh.results.AggregationPolicy;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.ScalarResult;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Collection;
import java.util.List;

/**
 * JMH profiler ({@code -prof io.tidings.bench.CpuTime}; {@link StorageBench} always adds it): the
 * CPU time the benchmark thread got during each measured iteration. On a shared machine the
 * wall-clock score falls whenever another process takes the core; {@code cpu.share} shows how much
 * of the iteration the thread actually ran, and {@code per.cpu.s} (score ÷ share, events per
 * second of the thread's own CPU time) is the figure that survives such noise.
 *
 * <p>The states call {@link #start()} at the end of their iteration set-up and {@link #stop()} at
 * the start of their tear-down, on the benchmark thread, so log opening and deleting are outside
 * the window. Single-threaded benchmarks only. GC and Chronicle's background threads are not
 * counted.
 */
public final class CpuTime implements InternalProfiler {
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    private static long cpuAtStart, wallAtStart;
    private static volatile long cpuNanos = -1, wallNanos = -1;

    static void start() {
        cpuAtStart = THREADS.getCurrentThreadCpuTime();
        wallAtStart = System.nanoTime();
    }

    static void stop() {
        long cpu = THREADS.getCurrentThreadCpuTime() - cpuAtStart;
        wallNanos = System.nanoTime() - wallAtStart;
        cpuNanos = cpu;
    }

    @Override
    public String getDescription() {
        return "CPU time of the benchmark thread per measured iteration (share of wall time, score per CPU-second)";
    }

    @Override
    public void beforeIteration(BenchmarkParams benchmarkParams, IterationParams iterationParams) {
        cpuNanos = -1;
        wallNanos = -1;
    }

    @Override
    public Collection<? extends Result> afterIteration(BenchmarkParams benchmarkParams, IterationParams iterationParams,
                                                       IterationResult result) {
        long cpu = cpuNanos, wall = wallNanos;
        if (cpu <= 0 || wall <= 0) return List.of();
        double share = Math.min(1.0, (double) cpu / wall);
        double score = result.getPrimaryResult().getScore();
        return List.of(
                new ScalarResult("cpu.share", share, "ratio", AggregationPolicy.AVG),
                new ScalarResult("per.cpu.s", score / share, result.getScoreUnit().replace("/s", "/cpu-s"), AggregationPolicy.AVG));
    }
}
