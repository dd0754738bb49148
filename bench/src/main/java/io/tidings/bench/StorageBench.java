package io.tidings.bench;

import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.OptionsBuilder;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;

/**
 * Runs the storage benchmarks and prints Tidings vs raw Chronicle Queue as a Markdown table.
 *
 * <p>Takes ordinary JMH command-line options (a benchmark regex, {@code -wi}, {@code -i},
 * {@code -prof gc}, {@code -rf json -rff file}, …) and appends to every forked JVM the flags
 * Chronicle Queue needs: the root pom's {@code chronicle.jvm.flags} (filtered into
 * {@code jvm-flags.properties} at build time) plus, when running on Java 24 or newer, native and
 * {@code sun.misc.Unsafe} memory access. {@code bench/run-storage-bench.sh} is the usual way in.
 */
public final class StorageBench {

    /** Workloads in table order: JMH class → label, Tidings method, raw method. */
    private static final List<String[]> WORKLOADS = List.of(
            new String[] {"AppendSingle", "append, single event", "tidings", "raw"},
            new String[] {"AppendBatch100", "append, batch of 100", "tidings", "raw"},
            new String[] {"SequentialRead", "sequential read (cursor.next)", "tidings", "raw"},
            new String[] {"PowerLossAppend", "append, single event, POWER_LOSS (msync)", "singleTidings", "singleRaw"},
            new String[] {"PowerLossAppend", "append, batch of 100, POWER_LOSS (msync)", "batch100Tidings", "batch100Raw"});

    private StorageBench() {}

    public static void main(String[] args) throws Exception {
        CommandLineOptions cli = new CommandLineOptions(args);
        if (cli.shouldHelp()) {
            cli.showHelp();
            return;
        }
        List<String> forkFlags = new ArrayList<>(forkFlags());
        if (cli.getJvmArgsAppend().hasValue()) forkFlags.addAll(cli.getJvmArgsAppend().get());
        ChainedOptionsBuilder options = new OptionsBuilder().parent(cli)
                .jvmArgsAppend(forkFlags.toArray(new String[0]))
                .addProfiler(CpuTime.class);
        if (cli.getIncludes().isEmpty()) options.include(StorageBench.class.getPackageName().replace(".", "\\.") + "\\..*");
        Collection<RunResult> results = new Runner(options.build()).run();
        System.out.println();
        System.out.println(table(results));
    }

    /** Flags every forked JVM needs for Chronicle Queue on this JDK. */
    static List<String> forkFlags() {
        Properties p = new Properties();
        try (InputStream in = StorageBench.class.getResourceAsStream("jvm-flags.properties")) {
            if (in == null) throw new IllegalStateException("jvm-flags.properties missing from the benchmark jar");
            p.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        String chronicle = p.getProperty("chronicle", "").trim();
        if (chronicle.isEmpty() || chronicle.contains("${")) {
            throw new IllegalStateException("jvm-flags.properties was not filtered by the build: " + chronicle);
        }
        List<String> flags = new ArrayList<>(Arrays.asList(chronicle.split("\\s+")));
        if (Runtime.version().feature() >= 24) {
            flags.add("--enable-native-access=ALL-UNNAMED");
            flags.add("--sun-misc-unsafe-memory-access=allow");
        }
        flags.add("-Djna.tmpdir=" + Path.of(System.getProperty("java.io.tmpdir"), "tidings-bench-jna"));
        return flags;
    }

    /**
     * A Markdown table: per workload, Tidings and raw events/s with JMH's 99.9% error, the ratio, and
     * the ratio of events per CPU-second of the benchmark thread (see {@link CpuTime}).
     */
    static String table(Collection<RunResult> results) {
        Map<String, RunResult> byName = new LinkedHashMap<>();
        for (RunResult r : results) {
            String name = r.getParams().getBenchmark();
            byName.put(name.substring(StorageBench.class.getPackageName().length() + 1), r);
        }
        StringBuilder out = new StringBuilder();
        out.append("| workload | Tidings EventLog (events/s) | raw Chronicle Queue (events/s) | Tidings / raw"
                + " | Tidings / raw, per CPU-second | CPU share Tidings, raw |\n");
        out.append("|---|---:|---:|---:|---:|---:|\n");
        for (String[] w : WORKLOADS) {
            RunResult t = byName.remove(w[0] + "." + w[2]);
            RunResult r = byName.remove(w[0] + "." + w[3]);
            if (t == null && r == null) continue;
            out.append("| ").append(w[1])
                    .append(" | ").append(score(primary(t)))
                    .append(" | ").append(score(primary(r)))
                    .append(" | ").append(ratio(primary(t), primary(r)))
                    .append(" | ").append(ratio(secondary(t, "per.cpu.s"), secondary(r, "per.cpu.s")))
                    .append(" | ").append(share(t)).append(", ").append(share(r))
                    .append(" |\n");
        }
        for (Map.Entry<String, RunResult> other : byName.entrySet()) {
            out.append("| ").append(other.getKey()).append(" | ").append(score(primary(other.getValue()))).append(" | | | | |\n");
        }
        out.append("\nScores: JMH throughput in events/s ± its 99.9% confidence half-width; a ratio's ± combines both\n")
                .append("relative errors. Per CPU-second: events per second of CPU time the benchmark thread actually got\n")
                .append("(score ÷ CPU share), which discounts time lost to other processes on a shared machine.\n");
        return out.toString();
    }

    private static Result<?> primary(RunResult r) {
        return r == null ? null : r.getPrimaryResult();
    }

    private static Result<?> secondary(RunResult r, String label) {
        return r == null ? null : r.getSecondaryResults().get(label);
    }

    private static String score(Result<?> r) {
        if (r == null) return "–";
        double s = r.getScore(), e = r.getScoreError();
        return Double.isNaN(e) ? fmt(s) : fmt(s) + " ± " + fmt(e);
    }

    private static String share(RunResult r) {
        Result<?> share = secondary(r, "cpu.share");
        return share == null ? "–" : String.format(Locale.ROOT, "%.0f%%", 100 * share.getScore());
    }

    private static String ratio(Result<?> t, Result<?> r) {
        if (t == null || r == null) return "–";
        double ts = t.getScore(), rs = r.getScore();
        double te = t.getScoreError(), re = r.getScoreError();
        double ratio = ts / rs;
        if (Double.isNaN(te) || Double.isNaN(re)) return String.format(Locale.ROOT, "%.0f%%", 100 * ratio);
        double err = ratio * Math.sqrt(Math.pow(te / ts, 2) + Math.pow(re / rs, 2));
        return String.format(Locale.ROOT, "%.0f%% ± %.0f", 100 * ratio, 100 * err);
    }

    private static String fmt(double v) {
        if (v >= 100) return String.format(Locale.ROOT, "%,.0f", v);
        return String.format(Locale.ROOT, "%.1f", v);
    }
}
