package io.tidings.server.auth;

import io.jsonwebtoken.Claims;
import io.jsonwebtoken.ExpiredJwtException;
import io.jsonwebtoken.JwtException;
import io.jsonwebtoken.Jwts;
import io.jsonwebtoken.security.Keys;

import javax.crypto.SecretKey;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Subscriber tokens: JWTs signed with HS256 and the configured secret, with claims {@code sub},
 * {@code rooms} (granted room prefixes) and {@code exp}. Thread-safe (immutable).
 */
public final class TokenVerifier {
    private final SecretKey key;

    public TokenVerifier(String secret) {
        byte[] bytes = secret.getBytes(StandardCharsets.UTF_8);
        if (bytes.length < 32) throw new IllegalArgumentException("jwtSecret must be at least 32 bytes (HS256)");
        this.key = Keys.hmacShaKeyFor(bytes);
    }

    public Grants verify(String token) throws AuthException {
        if (token == null || token.isBlank()) throw new AuthException(AuthException.Reason.MISSING, "missing token");
        try {
            Claims claims = Jwts.parser().verifyWith(key).build().parseSignedClaims(token).getPayload();
            String sub = claims.getSubject();
            if (sub == null || sub.isBlank()) throw new AuthException(AuthException.Reason.INVALID, "token has no sub");
            Object rooms = claims.get("rooms");
            List<String> granted = new java.util.ArrayList<>();
            if (rooms instanceof List<?> list) {
                for (Object o : list) if (o instanceof String s && !s.isEmpty()) granted.add(s);
            } else if (rooms != null) {
                throw new AuthException(AuthException.Reason.INVALID, "token claim rooms must be an array of strings");
            }
            Date exp = claims.getExpiration();
            return new Grants(sub, granted, exp == null ? Long.MAX_VALUE : exp.getTime());
        } catch (ExpiredJwtException e) {
            throw new AuthException(AuthException.Reason.EXPIRED, "token expired");
        } catch (JwtException | IllegalArgumentException e) {
            throw new AuthException(AuthException.Reason.INVALID, "invalid token");
        }
    }

    /** {@link #verify} as a future: already complete (the asynchronous form lets key refreshes wait without blocking). */
    public CompletableFuture<Grants> verifyAsync(String token) {
        try {
            return CompletableFuture.completedFuture(verify(token));
        } catch (AuthException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    /** Mints a token (CLI, tests, dev tooling). */
    public String mint(String subject, List<String> rooms, Duration ttl) {
        Instant now = Instant.now();
        return Jwts.builder().subject(subject).claim("rooms", rooms).issuedAt(Date.from(now))
                .expiration(Date.from(now.plus(ttl))).signWith(key, Jwts.SIG.HS256).compact();
    }
}
