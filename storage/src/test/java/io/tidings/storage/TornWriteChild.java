package io.tidings.storage;

import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;
import net.openhft.chronicle.wire.DocumentContext;

import java.nio.file.Path;

/**
 * The child JVM of {@link CrashRecoveryTest#killedMidRecordHoldingTheWriteLock}: opens the log's
 * Chronicle queue directly, starts a document (taking Chronicle's write lock), writes the first bytes
 * of a record, prints {@code HOLDING END} and waits to be killed. That is the state a writer killed in
 * the middle of an append leaves behind, made deterministic.
 *
 * <p>Arguments: log directory (an existing log), its roll period (default {@code HOURLY}).
 */
public final class TornWriteChild {
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        SingleChronicleQueue queue = SingleChronicleQueueBuilder.binary(dir).rollCycle(RollPeriod.valueOf(args.length > 1 ? args[1] : "HOURLY").cycle).build();
        ExcerptAppender appender = queue.createAppender();
        DocumentContext dc = appender.writingDocument();
        byte[] partial = new byte[40];
        partial[0] = RecordCodec.VERSION;
        for (int i = 1; i < partial.length; i++) partial[i] = (byte) i;
        dc.wire().bytes().write(partial);
        System.out.println("HOLDING END");
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE); // never closes the document: killed here
    }
}
