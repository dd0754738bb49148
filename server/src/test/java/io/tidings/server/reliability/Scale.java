package io.tidings.server.reliability;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;

/**
 * How big a reliability run is. {@code mvn -B verify} runs every scenario at "ci" scale (short, a
 * fixed budget); {@code ops/reliability/run.sh <scenario> --long} sets
 * {@code -Dtidings.reliability.scale=long}. Every random choice of a run derives from {@link #seed()},
 * printed at the start and settable with {@code -Dtidings.reliability.seed}, so a failure can be
 * replayed. Figures of a run are appended to {@code target/reliability/<scenario>.txt} by
 * {@link #report}.
 */
public final class Scale {
    private static final long SEED = Long.getLong("tidings.reliability.seed", ThreadLocalRandom.current().nextLong());

    private Scale() {}

    public static boolean isLong() {
        return "long".equals(System.getProperty("tidings.reliability.scale", "ci"));
    }

    /** {@code ci} in a CI run, {@code longRun} with --long; a {@code -Dtidings.reliability.<knob>} wins over both. */
    public static int pick(String knob, int ci, int longRun) {
        return Integer.getInteger("tidings.reliability." + knob, isLong() ? longRun : ci);
    }

    public static long seed() {
        return SEED;
    }

    /** Prints a result line and appends it to target/reliability/{@code scenario}.txt. */
    public static void report(String scenario, String line) {
        String stamped = java.time.Instant.now() + " seed=" + SEED + " scale=" + (isLong() ? "long" : "ci") + " " + line;
        System.out.println("[reliability " + scenario + "] " + stamped);
        try {
            Path dir = Files.createDirectories(Path.of("target", "reliability"));
            Files.writeString(dir.resolve(scenario + ".txt"), stamped + System.lineSeparator(),
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
