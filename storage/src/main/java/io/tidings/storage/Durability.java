package io.tidings.storage;

/** When an append counts as committed, i.e. when {@link EventLog#append} may return. */
public enum Durability {
    /**
     * The record is complete in the memory-mapped file (the OS page cache). It survives a crash or
     * {@code kill -9} of the process, not a power loss or kernel crash. The default.
     */
    PROCESS_CRASH,
    /**
     * The record was also written to the device ({@code msync}) before the append returns. It
     * survives power loss. Concurrent appends share one {@code msync} (group commit).
     */
    POWER_LOSS
}
