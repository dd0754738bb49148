package io.tidings.storage;

/** Thrown when a cursor cannot be positioned after a given offset; carries the {@link Gap}. */
public final class GapException extends Exception {
    private final Gap gap;

    public GapException(Gap gap) {
        super("cannot resume: " + gap.reason() + ", first available offset " + gap.firstAvailable(), null, false, false);
        this.gap = gap;
    }

    public Gap gap() {
        return gap;
    }
}
