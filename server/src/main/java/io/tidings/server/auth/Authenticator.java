package io.tidings.server.auth;

import io.tidings.server.guard.ConnectionLimits;
import io.tidings.server.metrics.Metrics;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Supplier;

/**
 * The one authentication and authorization service of the gateway, used identically by every
 * protocol (native, ActionCable, Socket.IO): who a client is ({@link #authenticate}) and whether it
 * may join a room ({@link #mayJoin}). docs/security.md describes the modes and the order below.
 *
 * <p>Authentication: a token is verified as a JWT (HS256 with {@code jwtSecret}, RS256/ES256 with
 * the configured public keys). Its expiry is final. Anything else (no token, a token that is not a
 * JWT we can verify) goes to the authorization webhook when one is configured, else is refused.
 *
 * <p>Authorization: a room covered by the principal's grants (token {@code rooms} claim or the
 * webhook's connect answer, plus {@code user/<sub>}) is allowed at once; otherwise the webhook is
 * asked when configured, else the join is refused.
 *
 * <p>Never blocks: both calls return futures that are already complete when no I/O is needed (a
 * JWT, a granted room, a cached answer) and otherwise complete later on another thread. Failed
 * authentications are counted per client address for the temporary block.
 *
 * <p>Thread-safe.
 */
public final class Authenticator {
    /**
     * Most joins one connection may have waiting for the webhook at once: one client cannot take
     * every webhook slot from the others.
     */
    public static final int MAX_PENDING_JOINS = 8;

    private final Supplier<TokenVerifier> tokens;
    private final AuthWebhook webhook;
    private final ConnectionLimits limits;
    private final Metrics metrics;
    private final long graceMs;

    /**
     * @param tokens  the current token verifier
     * @param webhook the authorization webhook, or null
     * @param limits  counts failed authentications per client address
     * @param graceMs how long a connection may outlive its credentials' expiry before it is closed
     */
    public Authenticator(Supplier<TokenVerifier> tokens, AuthWebhook webhook, ConnectionLimits limits, Metrics metrics, long graceMs) {
        this.tokens = tokens;
        this.webhook = webhook;
        this.limits = limits;
        this.metrics = metrics;
        this.graceMs = graceMs;
    }

    /**
     * Who presented {@code credentials}. Completes with the principal, or exceptionally with an
     * {@link AuthException} (possibly wrapped in a {@link CompletionException}: use {@link #cause}).
     * Credentials that were valid but have expired are refused.
     */
    public CompletableFuture<Principal> authenticate(Credentials credentials) {
        CompletableFuture<Principal> result;
        if (credentials.token() != null) {
            result = tokens.get().verifyAsync(credentials.token())
                    .thenApply(grants -> principal(grants, Principal.Source.TOKEN, credentials));
            if (webhook != null) {
                // not a JWT we can verify (an app's session or API token): the application decides
                result = result.exceptionallyCompose(e -> cause(e).reason() == AuthException.Reason.INVALID
                        ? askWebhook(credentials) : CompletableFuture.failedFuture(cause(e)));
            }
        } else if (webhook != null && !credentials.isEmpty()) {
            result = askWebhook(credentials);
        } else {
            result = CompletableFuture.failedFuture(new AuthException(AuthException.Reason.MISSING, "missing token"));
        }
        return result.whenComplete((p, error) -> {
            if (error != null) failed(credentials, cause(error));
        });
    }

    private CompletableFuture<Principal> askWebhook(Credentials credentials) {
        return webhook.connect(credentials).thenApply(grants -> principal(grants, Principal.Source.WEBHOOK, credentials));
    }

    private Principal principal(Grants grants, Principal.Source source, Credentials credentials) {
        long closeAt = grants.expiresAtMillis() >= Long.MAX_VALUE - graceMs ? Long.MAX_VALUE : grants.expiresAtMillis() + graceMs;
        return new Principal(grants, source, credentials, closeAt);
    }

    private void failed(Credentials credentials, AuthException e) {
        metrics.authFailure(credentials.protocol(), e.label());
        // guessing shows as invalid or denied credentials; missing, expired or unverifiable ones are no guess
        if (e.reason() == AuthException.Reason.INVALID || e.reason() == AuthException.Reason.DENIED) limits.authFailed(credentials.clientIp());
    }

    /**
     * May {@code principal} join {@code room}? Already complete when the grants answer it; never
     * completes exceptionally (a failing webhook gives {@link JoinDecision.Outcome#UNAVAILABLE}).
     * Does not look at expiry: protocols close expired connections themselves.
     */
    public CompletableFuture<JoinDecision> mayJoin(Principal principal, String room) {
        JoinDecision now = decideNow(principal, room);
        if (now != null) return CompletableFuture.completedFuture(now);
        return webhook.join(principal, room);
    }

    /** The decision if it needs no I/O (granted, cached, or nothing else to ask), else null. */
    public JoinDecision decideNow(Principal principal, String room) {
        if (principal.grants().allows(room)) return JoinDecision.ALLOW;
        if (webhook == null) return JoinDecision.forbidden("your token does not grant room " + room);
        return webhook.cachedJoin(principal, room);
    }

    /** How long connections outlive their credentials' expiry. */
    public long graceMs() {
        return graceMs;
    }

    /** The {@link AuthException} behind a future's failure; any other failure becomes an UNAVAILABLE one. */
    public static AuthException cause(Throwable error) {
        Throwable t = error;
        while (t instanceof CompletionException && t.getCause() != null) t = t.getCause();
        if (t instanceof AuthException a) return a;
        return new AuthException(AuthException.Reason.UNAVAILABLE, "authentication failed: " + t.getClass().getSimpleName());
    }
}
