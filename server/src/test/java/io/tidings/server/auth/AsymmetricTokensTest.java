package io.tidings.server.auth;

import com.sun.net.httpserver.HttpServer;
import io.jsonwebtoken.Jwts;
import io.jsonwebtoken.security.Jwks;
import io.jsonwebtoken.security.Keys;
import io.tidings.server.TestGateway;
import io.tidings.server.WsTestClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * RS256/ES256 tokens verified with public keys from a PEM file, a JWKS file or a JWKS URL served by a
 * real HTTP server; key rotation without a restart; algorithm confusion refused.
 */
class AsymmetricTokensTest {
    @TempDir
    Path dir;

    private HttpServer jwksServer;
    private final AtomicReference<String> jwks = new AtomicReference<>("{\"keys\":[]}");
    private final AtomicInteger jwksRequests = new AtomicInteger();

    @AfterEach
    void stopServer() {
        if (jwksServer != null) jwksServer.stop(0);
    }

    static KeyPair rsa() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        return g.generateKeyPair();
    }

    static KeyPair ec() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        return g.generateKeyPair();
    }

    static String pem(PublicKey key) {
        return "-----BEGIN PUBLIC KEY-----\n" + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(key.getEncoded())
                + "\n-----END PUBLIC KEY-----\n";
    }

    static String jwk(PublicKey key, String kid) {
        return key instanceof RSAPublicKey r ? Jwks.json(Jwks.builder().key(r).id(kid).build())
                : Jwks.json(Jwks.builder().key((ECPublicKey) key).id(kid).build());
    }

    static String token(KeyPair pair, String kid, String sub, Consumer<io.jsonwebtoken.JwtBuilder> more) {
        io.jsonwebtoken.JwtBuilder b = Jwts.builder();
        if (kid != null) b.header().keyId(kid).and();
        b.subject(sub).claim("rooms", List.of("teamspaceA")).expiration(Date.from(Instant.now().plus(Duration.ofHours(1))));
        more.accept(b);
        return b.signWith(pair.getPrivate(), pair.getPublic() instanceof RSAPublicKey ? Jwts.SIG.RS256 : Jwts.SIG.ES256).compact();
    }

    static String token(KeyPair pair, String kid, String sub) {
        return token(pair, kid, sub, b -> { });
    }

    /** The first thing a native client sees with this token: its welcome or its close. */
    static String outcome(TestGateway g, String token) {
        try (WsTestClient ws = WsTestClient.connect(g, token)) {
            String line = ws.nextLine();
            return line.startsWith("frame {\"op\":\"welcome\"") ? "welcome " + line.replaceAll(".*\"sub\":\"([^\"]*)\".*", "$1") : line;
        }
    }

    private String serveJwks() throws IOException {
        jwksServer = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        jwksServer.createContext("/.well-known/jwks.json", exchange -> {
            jwksRequests.incrementAndGet();
            byte[] body = jwks.get().getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        jwksServer.start();
        return "http://127.0.0.1:" + jwksServer.getAddress().getPort() + "/.well-known/jwks.json";
    }

    @Test
    void rs256AndEs256TokensVerifyWithAPemFileAndRotateWithoutARestart() throws Exception {
        KeyPair rsa = rsa(), ec = ec(), next = rsa();
        Path pem = dir.resolve("keys.pem");
        Files.writeString(pem, pem(rsa.getPublic()) + pem(ec.getPublic()));
        try (TestGateway g = new TestGateway(dir.resolve("data"), c -> c.jwtPublicKeyFile = pem.toString())) {
            String alice = token(rsa, null, "alice");
            assertThat(outcome(g, alice)).isEqualTo("welcome alice");
            assertThat(outcome(g, alice)).as("the same token again (remembered as verified)").isEqualTo("welcome alice");
            assertThat(outcome(g, token(ec, null, "bob"))).isEqualTo("welcome bob");
            assertThat(outcome(g, TestGateway.token("carol"))).as("HS256 still works").isEqualTo("welcome carol");
            // the kid of a PEM key is its RFC 7638 thumbprint
            assertThat(outcome(g, token(ec, PublicKeys.thumbprint(ec.getPublic()), "dave"))).isEqualTo("welcome dave");
            assertThat(outcome(g, token(next, null, "eve"))).isEqualTo("close 4001 token signed by an unknown key");

            // rotate: the file now holds the next key (and the EC one); the old RSA key is revoked
            Files.writeString(pem, pem(next.getPublic()) + pem(ec.getPublic()));
            awaitOutcome(g, token(next, null, "eve"), "welcome eve");
            assertThat(outcome(g, alice)).as("verified before the rotation, refused after it")
                    .isEqualTo("close 4001 token signed by an unknown key");

            // a broken file keeps the keys in force
            Files.writeString(pem, "-----BEGIN PUBLIC KEY-----\nnot base64!\n-----END PUBLIC KEY-----\n");
            awaitMetric(g, "tidings_jwt_key_refreshes_total{outcome=\"failed\",source=\"file\",} 1.0");
            assertThat(outcome(g, token(next, null, "eve"))).isEqualTo("welcome eve");
            assertThat(g.gateway().metrics().scrape()).contains("tidings_jwt_public_keys 2.0");
        }
    }

    @Test
    void jwksUrlKeysRotateAndAnUnknownKidRefreshesAtOnce() throws Exception {
        KeyPair k1 = rsa(), k2 = ec();
        jwks.set("{\"keys\":[" + jwk(k1.getPublic(), "k1") + "]}");
        String url = serveJwks();
        try (TestGateway g = new TestGateway(dir, c -> {
            c.jwksUrl = url;
            c.jwksRefreshIntervalMs = 3_600_000; // only the unknown kid makes it refresh within this test
            c.jwksMinRefreshIntervalMs = 0;
        })) {
            assertThat(jwksRequests.get()).as("fetched at start").isEqualTo(1);
            assertThat(outcome(g, token(k1, "k1", "alice"))).isEqualTo("welcome alice");

            // the issuer rotates: k2 is published, k1 withdrawn; the first k2 token triggers the refresh
            jwks.set("{\"keys\":[" + jwk(k2.getPublic(), "k2") + "]}");
            assertThat(outcome(g, token(k2, "k2", "bob"))).isEqualTo("welcome bob");
            assertThat(jwksRequests.get()).isEqualTo(2);
            assertThat(outcome(g, token(k1, "k1", "alice"))).isEqualTo("close 4001 token signed by an unknown key");
            // a key published for encryption only is not used to verify
            jwks.set("{\"keys\":[" + jwk(k2.getPublic(), "k2") + "," + jwk(k1.getPublic(), "k1").replace("{", "{\"use\":\"enc\",") + "]}");
            assertThat(outcome(g, token(k1, "k1", "alice"))).isEqualTo("close 4001 token signed by an unknown key");
        }
    }

    @Test
    void unknownKidRefreshesAreRateLimited() throws Exception {
        KeyPair k1 = rsa();
        jwks.set("{\"keys\":[" + jwk(k1.getPublic(), "k1") + "]}");
        String url = serveJwks();
        try (TestGateway g = new TestGateway(dir, c -> {
            c.jwksUrl = url;
            c.jwksRefreshIntervalMs = 3_600_000;
            c.jwksMinRefreshIntervalMs = 60_000;
        })) {
            for (int i = 0; i < 10; i++) {
                assertThat(outcome(g, token(k1, "made-up-" + i, "mallory"))).isEqualTo("close 4001 token signed by an unknown key");
            }
            assertThat(jwksRequests.get()).as("the start, then one early refresh").isEqualTo(2);
            assertThat(outcome(g, token(k1, "k1", "alice"))).isEqualTo("welcome alice");
        }
    }

    @Test
    void jwksFileIsReloadedWhenItChanges() throws Exception {
        KeyPair k1 = ec(), k2 = ec();
        Path file = dir.resolve("jwks.json");
        Files.writeString(file, "{\"keys\":[" + jwk(k1.getPublic(), "a") + "]}");
        try (TestGateway g = new TestGateway(dir.resolve("data"), c -> c.jwksFile = file.toString())) {
            assertThat(outcome(g, token(k1, "a", "alice"))).isEqualTo("welcome alice");
            Files.writeString(file, "{\"keys\":[" + jwk(k2.getPublic(), "b") + "]}");
            awaitOutcome(g, token(k2, "b", "bob"), "welcome bob");
            assertThat(outcome(g, token(k1, "a", "alice"))).isEqualTo("close 4001 token signed by an unknown key");
        }
    }

    @Test
    void issuerAndAudienceAreCheckedForAsymmetricTokens() throws Exception {
        KeyPair k = rsa();
        Path pem = dir.resolve("k.pem");
        Files.writeString(pem, pem(k.getPublic()));
        try (TestGateway g = new TestGateway(dir.resolve("data"), c -> {
            c.jwtPublicKeyFile = pem.toString();
            c.jwtIssuer = "https://id.example.com/";
            c.jwtAudience = "tidings";
        })) {
            assertThat(outcome(g, token(k, null, "alice", b -> b.issuer("https://id.example.com/").audience().add("tidings").and())))
                    .isEqualTo("welcome alice");
            assertThat(outcome(g, token(k, null, "alice", b -> b.issuer("https://id.example.com/").audience().add("other-app").and())))
                    .isEqualTo("close 4001 token issuer or audience not accepted");
            assertThat(outcome(g, token(k, null, "alice", b -> b.audience().add("tidings").and())))
                    .isEqualTo("close 4001 token issuer or audience not accepted");
        }
    }

    @Test
    void algorithmConfusionAndUnsignedTokensAreRefused() throws Exception {
        KeyPair k = rsa();
        Path pem = dir.resolve("k.pem");
        Files.writeString(pem, pem(k.getPublic()));
        try (TestGateway g = new TestGateway(dir.resolve("data"), c -> c.jwtPublicKeyFile = pem.toString())) {
            // HS256 "signed" with the (public) RSA key as the HMAC secret
            String confused = Jwts.builder().subject("mallory").signWith(Keys.hmacShaKeyFor(k.getPublic().getEncoded()), Jwts.SIG.HS256).compact();
            assertThat(outcome(g, confused)).isEqualTo("close 4001 invalid token");
            String b64 = Base64.getUrlEncoder().withoutPadding().encodeToString("{\"alg\":\"none\"}".getBytes());
            String unsigned = b64 + "." + Base64.getUrlEncoder().withoutPadding().encodeToString("{\"sub\":\"mallory\"}".getBytes()) + ".";
            assertThat(outcome(g, unsigned)).isEqualTo("close 4001 token algorithm none is not accepted (HS256, RS256, ES256 are)");
            // RS256 header on an ES256 signature / a kid of the wrong key type
            String es = token(ec(), PublicKeys.thumbprint(k.getPublic()), "mallory");
            assertThat(outcome(g, es)).isEqualTo("close 4001 token algorithm does not match its key");
        }
        try (TestGateway g = new TestGateway(dir.resolve("data2"))) {
            assertThat(outcome(g, token(k, null, "alice"))).isEqualTo("close 4001 RS256 tokens are not accepted: no public keys are configured");
        }
    }

    private static void awaitOutcome(TestGateway g, String token, String expected) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 10_000;
        String last;
        do {
            last = outcome(g, token);
            if (last.equals(expected)) return;
            Thread.sleep(200);
        } while (System.currentTimeMillis() < deadline);
        throw new AssertionError("still '" + last + "' instead of '" + expected + "'");
    }

    private static void awaitMetric(TestGateway g, String line) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 10_000;
        while (!g.gateway().metrics().scrape().contains(line)) {
            if (System.currentTimeMillis() > deadline) throw new AssertionError("no metric line " + line);
            Thread.sleep(100);
        }
    }
}
