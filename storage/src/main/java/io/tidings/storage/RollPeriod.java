package io.tidings.storage;

import net.openhft.chronicle.queue.RollCycle;
import net.openhft.chronicle.queue.RollCycles;
import net.openhft.chronicle.queue.rollcycles.TestRollCycles;

/**
 * How much time one log file covers. Retention deletes whole files, so this is also the
 * granularity of retention. Every period's offsets stay below 2^53 (exact in JavaScript) except
 * {@link #TEST_SECONDLY}, which exists for tests of retention.
 */
public enum RollPeriod {
    HOURLY(RollCycles.FAST_HOURLY),
    DAILY(RollCycles.FAST_DAILY),
    /** One file per second: only for tests that need files to roll quickly. */
    TEST_SECONDLY(TestRollCycles.TEST_SECONDLY);

    final RollCycle cycle;

    RollPeriod(RollCycle cycle) {
        this.cycle = cycle;
    }

    public long lengthMillis() {
        return cycle.lengthInMillis();
    }
}
