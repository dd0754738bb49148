package io.tidings.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** Temporary log directories (under {@code java.io.tmpdir}) and the forked JVM's sanity check. */
final class BenchDirs {
    private BenchDirs() {}

    static Path create(String name) {
        requireChronicleFlags();
        try {
            return Files.createTempDirectory("tidings-bench-" + name + "-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void delete(Path dir) {
        if (dir == null || !Files.exists(dir)) return;
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) files.sorted(Comparator.reverseOrder())::iterator) Files.deleteIfExists(p);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + dir, e);
        }
    }

    /**
     * Without {@code --add-opens java.base/java.lang.reflect} Chronicle silently opens queues
     * read-only and fails much later with a misleading message; fail here with the cure instead.
     */
    private static void requireChronicleFlags() {
        if (!Object.class.getModule().isOpen("java.lang.reflect", BenchDirs.class.getModule())) {
            throw new IllegalStateException("this JVM lacks the flags Chronicle Queue needs: run the benchmarks "
                    + "with bench/run-storage-bench.sh (or io.tidings.bench.StorageBench), or pass JMH "
                    + "-jvmArgsAppend \"<the root pom's chronicle.jvm.flags>\"");
        }
    }
}
