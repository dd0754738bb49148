package io.tidings.storage;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.Properties;
import java.util.stream.Stream;

/**
 * The small files beside Chronicle's own: {@value #FILE} (format version, epoch, roll period;
 * written once when the log is created) and {@value #FLOOR_FILE} (the index of the last event
 * retention deleted). Both are replaced atomically (write, fsync, rename).
 */
record LogMeta(int format, String epoch, RollPeriod roll) {
    static final String FILE = "tidings-log.properties";
    static final String FLOOR_FILE = "retention-floor";
    static final int FORMAT = 1;

    /** Reads the meta file, or creates it when the directory holds no log yet. */
    static LogMeta loadOrCreate(Path dir, RollPeriod roll, boolean readOnly) {
        Path file = dir.resolve(FILE);
        try {
            if (Files.exists(file)) return read(file);
            if (readOnly) throw new IllegalStateException("no Tidings log in " + dir + " (missing " + FILE + ")");
            Files.createDirectories(dir);
            try (Stream<Path> files = Files.list(dir)) {
                if (files.anyMatch(p -> p.getFileName().toString().endsWith(".cq4"))) {
                    throw new IllegalStateException(dir + " holds log files but no " + FILE
                            + ": refusing to invent a new epoch for existing events");
                }
            }
            LogMeta meta = new LogMeta(FORMAT, Epochs.random(), roll);
            Properties p = new Properties();
            p.setProperty("format", Integer.toString(FORMAT));
            p.setProperty("epoch", meta.epoch);
            p.setProperty("roll", roll.name());
            p.setProperty("created", Instant.now().toString());
            writeAtomically(file, w -> p.store(w, "Tidings event log: do not edit"));
            return meta;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read or create " + file, e);
        }
    }

    /**
     * Gives the log a new epoch (after {@link TailRecovery} dropped records whose offsets must not be
     * reused), keeping the other settings and noting the previous epoch.
     */
    static LogMeta renewEpoch(Path dir, LogMeta old) {
        Path file = dir.resolve(FILE);
        try {
            Properties p = new Properties();
            try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                p.load(r);
            }
            LogMeta meta = new LogMeta(old.format, Epochs.random(), old.roll);
            p.setProperty("epoch", meta.epoch);
            p.setProperty("previousEpoch", old.epoch);
            p.setProperty("epochRenewed", Instant.now().toString());
            writeAtomically(file, w -> p.store(w, "Tidings event log: do not edit"));
            return meta;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot renew the epoch in " + file, e);
        }
    }

    private static LogMeta read(Path file) throws IOException {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(r);
        }
        int format = Integer.parseInt(p.getProperty("format", "-1"));
        if (format != FORMAT) {
            throw new IllegalStateException(file + " has log format " + format + "; this Tidings reads format " + FORMAT);
        }
        String epoch = p.getProperty("epoch", "");
        if (!Epochs.isWellFormed(epoch)) throw new IllegalStateException(file + " has a malformed epoch '" + epoch + "'");
        return new LogMeta(format, epoch, RollPeriod.valueOf(p.getProperty("roll", RollPeriod.HOURLY.name())));
    }

    static long readFloor(Path dir) {
        Path file = dir.resolve(FLOOR_FILE);
        try {
            return Files.exists(file) ? Long.parseLong(Files.readString(file).trim()) : 0;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    static void writeFloor(Path dir, long index) {
        try {
            writeAtomically(dir.resolve(FLOOR_FILE), w -> w.write(Long.toString(index)));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + dir.resolve(FLOOR_FILE), e);
        }
    }

    private interface WriterBody {
        void write(Writer w) throws IOException;
    }

    private static void writeAtomically(Path file, WriterBody body) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (var channel = java.nio.channels.FileChannel.open(tmp, java.nio.file.StandardOpenOption.CREATE,
                java.nio.file.StandardOpenOption.WRITE, java.nio.file.StandardOpenOption.TRUNCATE_EXISTING);
             Writer w = java.nio.channels.Channels.newWriter(channel, StandardCharsets.UTF_8)) {
            body.write(w);
            w.flush();
            channel.force(true);
        }
        try {
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
