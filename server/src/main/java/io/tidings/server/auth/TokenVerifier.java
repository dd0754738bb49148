package io.tidings.server.auth;

import com.fasterxml.jackson.databind.JsonNode;
import io.jsonwebtoken.Claims;
import io.jsonwebtoken.ExpiredJwtException;
import io.jsonwebtoken.IncorrectClaimException;
import io.jsonwebtoken.JwtException;
import io.jsonwebtoken.JwtParser;
import io.jsonwebtoken.JwtParserBuilder;
import io.jsonwebtoken.Jwts;
import io.jsonwebtoken.MissingClaimException;
import io.jsonwebtoken.security.Keys;
import io.jsonwebtoken.security.SignatureException;
import io.tidings.server.http.Json;

import javax.crypto.SecretKey;
import java.nio.charset.StandardCharsets;
import java.security.PublicKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Subscriber tokens: JWTs with claims {@code sub}, {@code rooms} (granted room prefixes, optional)
 * and {@code exp} (optional), signed with
 * <ul>
 *   <li>HS256 and {@code jwtSecret} (what {@code tidings token} mints), or</li>
 *   <li>RS256 / ES256 and a public key of {@link JwtKeys} (an identity provider's keys): chosen by
 *       the token's {@code kid}, or, for a token without one, tried in turn (at most
 *       {@link #MAX_KEYS_WITHOUT_KID}). {@code jwtIssuer} and {@code jwtAudience}, when set, must
 *       match these tokens' {@code iss} and {@code aud}.</li>
 * </ul>
 * Every other {@code alg} (none, HS384, PS256 …) is refused before any key is looked at, and the
 * key's type must match the algorithm, so an RSA public key can never serve as an HMAC secret.
 *
 * <p>Thread-safe: immutable but for a cache of parsers for the current key set and the cache of
 * verified tokens (a concurrent map).
 */
public final class TokenVerifier {
    /** Most keys tried for a token without {@code kid}. */
    public static final int MAX_KEYS_WITHOUT_KID = 8;

    private final SecretKey secret;
    private final JwtParser hs256;
    private final JwtKeys keys;
    private final String issuer;
    private final String audience;
    private volatile Parsers parsers = new Parsers(PublicKeys.EMPTY, Map.of());
    /**
     * Tokens verified already, until they expire or the public keys change: a client presents the same
     * token on every reconnect, and verifying it (parsing, an HMAC or RSA check, claims) again was ~10 %
     * of the I/O threads' time in a reconnect storm (docs/benchmarks.md). Keyed by the whole token, so
     * only the exact bytes that were verified match. At most {@link #VERIFIED_MAX}, then it starts over.
     */
    private final Map<String, Verified> verified = new java.util.concurrent.ConcurrentHashMap<>();
    static final int VERIFIED_MAX = 10_000;

    /** @param keys the public key set the token was verified against (null: HS256 or none configured) */
    private record Verified(Grants grants, PublicKeys keys) {}

    private record Parsers(PublicKeys keys, Map<PublicKey, JwtParser> byKey) {
    }

    /** Thrown inside: the token names a key we do not have (a refresh may find it). */
    private static final class UnknownKey extends Exception {
        UnknownKey() {
            super(null, null, false, false);
        }
    }

    /** HS256 only. */
    public TokenVerifier(String secret) {
        this(secret, null, "", "");
    }

    /**
     * @param secret   the HS256 secret (at least 32 bytes)
     * @param keys     public keys for RS256/ES256, or null
     * @param issuer   required {@code iss} of RS256/ES256 tokens, or empty
     * @param audience required {@code aud} of RS256/ES256 tokens, or empty
     */
    public TokenVerifier(String secret, JwtKeys keys, String issuer, String audience) {
        byte[] bytes = secret.getBytes(StandardCharsets.UTF_8);
        if (bytes.length < 32) throw new IllegalArgumentException("jwtSecret must be at least 32 bytes (HS256)");
        this.secret = Keys.hmacShaKeyFor(bytes);
        this.hs256 = Jwts.parser().verifyWith(this.secret).build();
        this.keys = keys;
        this.issuer = issuer == null ? "" : issuer;
        this.audience = audience == null ? "" : audience;
    }

    /** Verifies with the keys at hand (no refresh for an unknown {@code kid}). */
    public Grants verify(String token) throws AuthException {
        try {
            return verifyOrUnknownKey(token);
        } catch (UnknownKey e) {
            throw unknownKey();
        }
    }

    /**
     * Verifies; a token signed by a key we do not know yet waits for a (rate-limited) refresh of the
     * keys and is verified once more. Never blocks the caller.
     */
    public CompletableFuture<Grants> verifyAsync(String token) {
        try {
            return CompletableFuture.completedFuture(verifyOrUnknownKey(token));
        } catch (AuthException e) {
            return CompletableFuture.failedFuture(e);
        } catch (UnknownKey e) {
            return keys.refreshForUnknownKey().thenCompose(v -> {
                try {
                    return CompletableFuture.completedFuture(verify(token));
                } catch (AuthException again) {
                    return CompletableFuture.failedFuture(again);
                }
            });
        }
    }

    private static AuthException unknownKey() {
        return new AuthException(AuthException.Reason.INVALID, "token signed by an unknown key");
    }

    private Grants verifyOrUnknownKey(String token) throws AuthException, UnknownKey {
        if (token == null || token.isBlank()) throw new AuthException(AuthException.Reason.MISSING, "missing token");
        PublicKeys keySet = keys == null ? null : keys.current(); // before verifying: a later change of keys re-verifies
        Verified known = verified.get(token);
        if (known != null && System.currentTimeMillis() < known.grants().expiresAtMillis() && known.keys() == keySet) return known.grants();
        Grants grants = verifySignatureAndClaims(token);
        if (verified.size() >= VERIFIED_MAX) verified.clear(); // bounded; a storm of new tokens just verifies each
        verified.put(token, new Verified(grants, keySet));
        return grants;
    }

    private Grants verifySignatureAndClaims(String token) throws AuthException, UnknownKey {
        JsonNode header = header(token);
        String alg = header.path("alg").asText("");
        String kid = header.path("kid").isTextual() ? header.get("kid").asText() : null;
        Claims claims;
        try {
            claims = switch (alg) {
                case "HS256" -> hs256.parseSignedClaims(token).getPayload();
                case "RS256", "ES256" -> asymmetric(token, alg, kid);
                default -> throw new AuthException(AuthException.Reason.INVALID, "token algorithm " + (alg.isEmpty() ? "missing" : truncate(alg))
                        + " is not accepted (HS256, RS256, ES256 are)");
            };
        } catch (ExpiredJwtException e) {
            throw new AuthException(AuthException.Reason.EXPIRED, "token expired");
        } catch (IncorrectClaimException | MissingClaimException e) {
            throw new AuthException(AuthException.Reason.INVALID, "token issuer or audience not accepted");
        } catch (JwtException | IllegalArgumentException e) {
            throw new AuthException(AuthException.Reason.INVALID, "invalid token");
        }
        return grants(claims);
    }

    private Claims asymmetric(String token, String alg, String kid) throws AuthException, UnknownKey {
        if (keys == null) throw new AuthException(AuthException.Reason.INVALID, alg + " tokens are not accepted: no public keys are configured");
        Parsers p = parsers();
        Class<?> type = alg.equals("RS256") ? RSAPublicKey.class : ECPublicKey.class;
        if (kid != null) {
            PublicKey key = p.keys().byId(kid);
            if (key == null) throw new UnknownKey();
            if (!type.isInstance(key)) throw new AuthException(AuthException.Reason.INVALID, "token algorithm does not match its key");
            return p.byKey().get(key).parseSignedClaims(token).getPayload();
        }
        List<PublicKey> candidates = new ArrayList<>();
        for (PublicKey k : p.keys().all()) if (type.isInstance(k) && candidates.size() < MAX_KEYS_WITHOUT_KID) candidates.add(k);
        if (candidates.isEmpty()) throw new UnknownKey();
        for (int i = 0; i < candidates.size(); i++) {
            try {
                return p.byKey().get(candidates.get(i)).parseSignedClaims(token).getPayload();
            } catch (SignatureException e) {
                if (i == candidates.size() - 1) throw new UnknownKey(); // none of ours signed it: maybe one we have not fetched yet
            }
        }
        throw new UnknownKey();
    }

    /** Parsers for the current key set, built once per set. */
    private Parsers parsers() {
        PublicKeys now = keys.current();
        Parsers p = parsers;
        if (p.keys() == now) return p;
        Map<PublicKey, JwtParser> byKey = new IdentityHashMap<>();
        for (PublicKey k : now.all()) {
            JwtParserBuilder b = Jwts.parser().verifyWith(k);
            if (!issuer.isEmpty()) b.requireIssuer(issuer);
            if (!audience.isEmpty()) b.requireAudience(audience);
            byKey.put(k, b.build());
        }
        p = new Parsers(now, byKey);
        parsers = p;
        return p;
    }

    private static JsonNode header(String token) throws AuthException {
        int dot = token.indexOf('.');
        if (dot <= 0 || dot > 4096) throw new AuthException(AuthException.Reason.INVALID, "invalid token");
        try {
            JsonNode h = Json.MAPPER.readTree(Base64.getUrlDecoder().decode(token.substring(0, dot)));
            if (h == null || !h.isObject()) throw new IllegalArgumentException();
            return h;
        } catch (Exception e) {
            throw new AuthException(AuthException.Reason.INVALID, "invalid token");
        }
    }

    private static Grants grants(Claims claims) throws AuthException {
        String sub = claims.getSubject();
        if (sub == null || sub.isBlank()) throw new AuthException(AuthException.Reason.INVALID, "token has no sub");
        Object rooms = claims.get("rooms");
        List<String> granted = new ArrayList<>();
        if (rooms instanceof List<?> list) {
            for (Object o : list) if (o instanceof String s && !s.isEmpty()) granted.add(s);
        } else if (rooms != null) {
            throw new AuthException(AuthException.Reason.INVALID, "token claim rooms must be an array of strings");
        }
        Date exp = claims.getExpiration();
        return new Grants(sub, granted, exp == null ? Long.MAX_VALUE : exp.getTime());
    }

    private static String truncate(String s) {
        return s.length() > 16 ? s.substring(0, 16) + "…" : s;
    }

    /** Mints an HS256 token (CLI, tests, dev tooling). */
    public String mint(String subject, List<String> rooms, Duration ttl) {
        Instant now = Instant.now();
        return Jwts.builder().subject(subject).claim("rooms", rooms).issuedAt(Date.from(now))
                .expiration(Date.from(now.plus(ttl))).signWith(secret, Jwts.SIG.HS256).compact();
    }
}
