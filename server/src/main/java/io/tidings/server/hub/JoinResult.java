package io.tidings.server.hub;

import io.tidings.storage.Gap;

/**
 * How a join went: live from the head, replaying from a resume offset (then live), or live after a
 * gap (the resume offset could not be honoured; {@code gap} says why and where history starts).
 */
public record JoinResult(Status status, Subscription subscription, Gap gap) {
    public enum Status { LIVE, REPLAYING, GAP }
}
