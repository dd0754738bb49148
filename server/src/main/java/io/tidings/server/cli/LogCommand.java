package io.tidings.server.cli;

import io.tidings.server.EventJson;
import io.tidings.storage.Cursor;
import io.tidings.storage.Event;
import io.tidings.storage.EventLog;
import io.tidings.storage.LogConfig;
import io.tidings.storage.LogStats;
import io.tidings.storage.VerifyReport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.BufferedOutputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.time.Instant;

/**
 * {@code tidings log verify|dump|stats --data-dir D}: inspects a log offline, read-only (safe while
 * a server is writing to it).
 */
@Command(name = "log", description = "Inspect a log offline (read-only; the server may be running).",
        subcommands = {LogCommand.Verify.class, LogCommand.Dump.class, LogCommand.Stats.class})
public final class LogCommand {

    static EventLog open(Path dataDir) {
        return EventLog.open(LogConfig.at(dataDir.resolve("log")).withReadOnly(true));
    }

    static String describe(LogStats s) {
        return "epoch:   " + s.epoch() + "\n"
                + "events:  " + s.events() + "\n"
                + "first:   " + (s.first() == null ? "-" : s.first() + " at " + Instant.ofEpochMilli(s.firstTimeMillis())) + "\n"
                + "head:    " + s.head() + (s.headTimeMillis() < 0 ? "" : " at " + Instant.ofEpochMilli(s.headTimeMillis())) + "\n"
                + "files:   " + s.files() + "\n"
                + "bytes:   " + s.bytes();
    }

    abstract static class Base {
        @Option(names = "--data-dir", defaultValue = "data", description = "Data directory (default ./data).")
        Path dataDir;

        @Option(names = "--no-progress", description = "No progress line on stderr (shown only when stderr is a terminal).")
        boolean noProgress;
    }

    @Command(name = "stats", description = "Print the log's extent.")
    static final class Stats extends Base implements Runnable {
        @Override
        public void run() {
            try (EventLog log = open(dataDir)) {
                System.out.println(describe(log.stats()));
            }
        }
    }

    @Command(name = "verify", description = "Read every record, check checksums and order; exit 1 if damaged.")
    static final class Verify extends Base implements java.util.concurrent.Callable<Integer> {
        @Override
        public Integer call() {
            try (EventLog log = open(dataDir)) {
                VerifyReport r;
                try (Progress progress = Progress.onTerminal("verify", log.stats().events(), !noProgress)) {
                    r = log.verify(progress::update);
                }
                System.out.println(describe(r.stats()));
                System.out.println("scanned: " + r.scanned());
                r.repairs().forEach(line -> System.out.println("repaired: " + line));
                if (r.healthy()) {
                    System.out.println("status:  healthy");
                    return 0;
                }
                System.out.println("status:  DAMAGED");
                r.damage().forEach(d -> System.out.println("  " + d));
                return 1;
            }
        }
    }

    @Command(name = "dump", description = "Print events as NDJSON (same shape as GET /v1/events).")
    static final class Dump extends Base implements Runnable {
        @Option(names = "--limit", defaultValue = "" + Long.MAX_VALUE, description = "Most events to print.")
        long limit;

        @Override
        public void run() {
            try (EventLog log = open(dataDir); Cursor c = log.cursorAtStart();
                 OutputStream out = new BufferedOutputStream(System.out, 1 << 16);
                 // not when the events themselves go to the terminal: the line would garble them
                 Progress progress = Progress.onTerminal("dump", Math.min(limit, log.stats().events()),
                         !noProgress && !Progress.isTerminal(1))) {
                long n = 0;
                for (Event e = c.next(); e != null && n < limit; e = c.next(), n++) {
                    out.write(EventJson.ndjsonLine(e));
                    if ((n & 0x3ff) == 0) progress.update(n);
                }
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
    }
}
