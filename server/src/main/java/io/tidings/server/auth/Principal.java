package io.tidings.server.auth;

/**
 * An authenticated client: who it is, which rooms its credentials grant outright, until when, and
 * the credentials it presented (per-join webhook questions send them again). Immutable.
 *
 * @param grants        subject, statically granted rooms, expiry of the credentials
 * @param source        what vouched for it
 * @param credentials   what the client presented
 * @param closeAtMillis when a connection held with these credentials is closed: their expiry plus
 *                      the grace period ({@code credentialsGraceMs}); Long.MAX_VALUE = never
 */
public record Principal(Grants grants, Source source, Credentials credentials, long closeAtMillis) {
    public enum Source {
        /** A JWT verified with the HS256 secret or a configured public key. */
        TOKEN,
        /** The authorization webhook's connect answer. */
        WEBHOOK
    }

    public String subject() {
        return grants.subject();
    }

    public long expiresAtMillis() {
        return grants.expiresAtMillis();
    }

    /** True once the credentials have expired (joins are refused from then on; the grace only delays the close). */
    public boolean expired(long nowMillis) {
        return grants.expiresAtMillis() <= nowMillis;
    }
}
