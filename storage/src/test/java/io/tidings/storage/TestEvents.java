package io.tidings.storage;

import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Helpers shared by the storage tests: events that carry a sequence number, reading a whole log, child JVMs. */
final class TestEvents {
    /** A fixed wall-clock start for tests with an injected clock (2023-11-14T22:13:20Z, on a second boundary). */
    static final long T0 = 1_700_000_000_000L;

    private static final Pattern SEQ = Pattern.compile("\"seq\":(\\d+)");

    private TestEvents() {}

    /** An event whose JSON data carries {@code seq}; {@code extra} is appended to the data verbatim. */
    static NewEvent withSeq(long seq, String extra) {
        String json = "{\"seq\":" + seq + ",\"x\":\"" + extra + "\"}";
        return new NewEvent(List.of("teamspaceA/m" + (seq % 7), "user/alice"), "update#tasks",
                json.getBytes(StandardCharsets.UTF_8), null);
    }

    static NewEvent withSeq(long seq) {
        return withSeq(seq, "");
    }

    static long seqOf(Event e) {
        Matcher m = SEQ.matcher(new String(e.data(), StandardCharsets.UTF_8));
        if (!m.find()) throw new AssertionError("event " + e.offset() + " carries no seq");
        return Long.parseLong(m.group(1));
    }

    /** Every event the cursor returns until it has caught up with the head. */
    static List<Event> drain(Cursor c) {
        List<Event> out = new ArrayList<>();
        for (Event e = c.next(); e != null; e = c.next()) out.add(e);
        return out;
    }

    static List<Event> readAll(EventLog log) {
        try (Cursor c = log.cursorAtStart()) {
            return drain(c);
        }
    }

    static List<Offset> offsets(List<Event> events) {
        List<Offset> out = new ArrayList<>(events.size());
        for (Event e : events) out.add(e.offset());
        return out;
    }

    /** A log with a clock the test advances by hand. */
    static LogConfig manualClock(Path dir, AtomicLong clock) {
        return LogConfig.at(dir).withClock(clock::get);
    }

    /**
     * The command line that starts {@code mainClass} in a child JVM with this JVM's test classpath and
     * the flags Chronicle needs (taken from the flags surefire gave this JVM).
     */
    static List<String> childJvm(Class<?> mainClass, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (a.startsWith("--add-opens") || a.startsWith("--add-exports") || a.startsWith("--enable-native-access")
                    || a.startsWith("--sun-misc-") || a.startsWith("-D")) {
                cmd.add(a);
            }
        }
        cmd.add("-Xmx256m");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(mainClass.getName());
        cmd.addAll(List.of(args));
        return cmd;
    }
}
