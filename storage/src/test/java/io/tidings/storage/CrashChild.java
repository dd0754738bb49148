package io.tidings.storage;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The child JVM of {@link CrashRecoveryTest}: opens the log and appends from two threads, single
 * events and batches, until it is killed. Thread {@code t} numbers its events from
 * {@code firstSeq + t * 1_000_000}. After each append returns it prints one line per event,
 * {@code ACK <seq> <offset> END}, and flushes; a line cut by the kill lacks its {@code END} and is
 * ignored by the parent. If an append fails it prints {@code FAIL <exception> END} and exits with 3.
 *
 * <p>Arguments: log directory, first sequence number, durability.
 */
public final class CrashChild {
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        long seq0 = Long.parseLong(args[1]);
        Durability durability = Durability.valueOf(args[2]);
        PrintStream out = new PrintStream(System.out, false, "UTF-8");
        EventLog log = EventLog.open(LogConfig.at(dir).withDurability(durability));
        out.println("READY " + log.head() + " END");
        out.flush();
        for (int t = 0; t < 2; t++) {
            long first = seq0 + t * 1_000_000L; // each thread has its own sequence, so its order can be checked
            new Thread(() -> {
                try {
                    appendForever(log, out, first);
                } catch (Throwable e) {
                    e.printStackTrace();
                    synchronized (out) {
                        out.println("FAIL " + e + " END");
                        out.flush();
                    }
                    Runtime.getRuntime().halt(3);
                }
            }, "appender-" + t).start();
        }
        Thread.currentThread().join(); // until killed
    }

    private static void appendForever(EventLog log, PrintStream out, long firstSeq) {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        long seq = firstSeq;
        while (true) {
            int n = random.nextInt(4) == 0 ? 1 + random.nextInt(8) : 1;
            List<NewEvent> batch = new ArrayList<>(n);
            for (int i = 0; i < n; i++) batch.add(TestEvents.withSeq(seq + i, "f".repeat(random.nextInt(3000))));
            List<Appended> acks = n == 1 ? List.of(log.append(batch.get(0))) : log.append(batch);
            StringBuilder lines = new StringBuilder();
            for (int i = 0; i < n; i++) {
                lines.append("ACK ").append(seq + i).append(' ').append(acks.get(i).offset()).append(" END\n");
            }
            seq += n;
            synchronized (out) {
                out.print(lines);
                out.flush();
            }
        }
    }
}
