package io.tidings.server.auth;

/**
 * The answer to "may this principal join this room?". Immutable.
 *
 * @param outcome what was decided
 * @param message why, safe to show the client
 */
public record JoinDecision(Outcome outcome, String message) {
    public enum Outcome {
        ALLOWED,
        /** Not granted (by the token, or the webhook said no). */
        FORBIDDEN,
        /** The webhook could not answer (error, timeout, too busy): refused, worth retrying later. */
        UNAVAILABLE
    }

    static final JoinDecision ALLOW = new JoinDecision(Outcome.ALLOWED, null);

    static JoinDecision forbidden(String message) {
        return new JoinDecision(Outcome.FORBIDDEN, message);
    }

    static JoinDecision unavailable(String message) {
        return new JoinDecision(Outcome.UNAVAILABLE, message);
    }

    /** {@code decision}, or UNAVAILABLE if it is missing because its computation failed (defensive: mayJoin does not fail). */
    public static JoinDecision orUnavailable(JoinDecision decision) {
        return decision != null ? decision : unavailable("authorization failed; try again later");
    }

    public boolean allowed() {
        return outcome == Outcome.ALLOWED;
    }

    /** The error code protocols show: {@code forbidden} or {@code auth_unavailable}. */
    public String code() {
        return outcome == Outcome.UNAVAILABLE ? "auth_unavailable" : "forbidden";
    }

    /** The metric outcome of a refused join. */
    public String label() {
        return outcome == Outcome.UNAVAILABLE ? "auth_unavailable" : "forbidden";
    }
}
