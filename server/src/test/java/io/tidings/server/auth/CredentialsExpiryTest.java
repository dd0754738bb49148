package io.tidings.server.auth;

import io.tidings.server.TestGateway;
import io.tidings.server.WsTestClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Enforcement over time: a live connection whose token expires is closed with its protocol's
 * unauthorized signal once the grace period has passed; joins after the expiry are refused.
 */
class CredentialsExpiryTest {
    static final String CABLE_NOTIFICATIONS = "{\"command\":\"subscribe\",\"identifier\":\"{\\\"channel\\\":\\\"NotificationsChannel\\\"}\"}";

    @TempDir
    Path dir;

    static String shortToken(String sub, long ttlMs, String... rooms) {
        return new TokenVerifier(TestGateway.SECRET).mint(sub, List.of(rooms), Duration.ofMillis(ttlMs));
    }

    /** The token's exp claim in ms (whole seconds, as JWTs carry it). */
    static long exp(String token) throws AuthException {
        return new TokenVerifier(TestGateway.SECRET).verify(token).expiresAtMillis();
    }

    @Test
    void nativeConnectionIsClosedWith4001AfterExpiryPlusGrace() throws Exception {
        long graceMs = 2_000;
        try (TestGateway g = new TestGateway(dir, c -> c.credentialsGraceMs = graceMs)) {
            String token = shortToken("alice", 2_000, "teamspaceA");
            long exp = exp(token);
            try (WsTestClient ws = WsTestClient.connect(g, token)) {
                assertThat(ws.nextText()).startsWith("{\"op\":\"welcome\"");
                ws.send("{\"op\":\"join\",\"room\":\"teamspaceA\"}");
                assertThat(ws.nextText()).isEqualTo("{\"op\":\"joined\",\"room\":\"teamspaceA\"}");
                assertThat(ws.nextText()).isEqualTo("{\"op\":\"live\",\"room\":\"teamspaceA\"}");
                g.publish("teamspaceA/m1", "t", "{}");
                assertThat(ws.nextText()).startsWith("{\"op\":\"event\",\"room\":\"teamspaceA/m1\"");

                String close = ws.awaitLine(l -> l.startsWith("close "));
                long closedAt = System.currentTimeMillis();
                assertThat(close).isEqualTo("close 4001 token expired");
                // not before the grace period ran out (the ticker runs every second: at most ~1 s late)
                assertThat(closedAt).isBetween(exp + graceMs, exp + graceMs + 3_000);
            }
            assertThat(g.gateway().metrics().scrape()).contains("tidings_expired_disconnects_total{protocol=\"native\",} 1.0");
        }
    }

    @Test
    void nativeJoinAfterExpiryClosesAtOnceEvenWithinTheGrace() throws Exception {
        try (TestGateway g = new TestGateway(dir, c -> c.credentialsGraceMs = 60_000)) {
            String token = shortToken("alice", 3_000, "teamspaceA");
            long exp = exp(token);
            try (WsTestClient ws = WsTestClient.connect(g, token)) {
                assertThat(ws.nextText()).startsWith("{\"op\":\"welcome\"");
                ws.send("{\"op\":\"join\",\"room\":\"teamspaceA\"}");
                assertThat(ws.nextText()).isEqualTo("{\"op\":\"joined\",\"room\":\"teamspaceA\"}");
                Thread.sleep(Math.max(0, exp - System.currentTimeMillis()) + 200);
                // expired but within the grace: still open, delivering
                g.publish("teamspaceA", "t", "{}");
                assertThat(ws.awaitLine(l -> l.contains("\"op\":\"event\""))).isNotNull();
                ws.send("{\"op\":\"join\",\"room\":\"user/alice\"}");
                assertThat(ws.awaitLine(l -> !l.contains("\"op\":\"live\""))).isEqualTo("close 4001 token expired");
            }
        }
    }

    @Test
    void anExpiredTokenIsRefusedAtConnect() throws Exception {
        try (TestGateway g = new TestGateway(dir)) {
            String token = shortToken("alice", 2_000, "teamspaceA");
            try (WsTestClient ws = WsTestClient.connect(g, token)) { // verified once, and remembered as verified
                assertThat(ws.nextText()).startsWith("{\"op\":\"welcome\"");
            }
            Thread.sleep(Math.max(0, exp(token) - System.currentTimeMillis()) + 100);
            try (WsTestClient ws = WsTestClient.connect(g, token)) { // the same token, now expired: not taken from that memory
                assertThat(ws.nextLine()).isEqualTo("close 4001 token expired");
            }
            assertThat(g.gateway().metrics().scrape()).contains("tidings_auth_failures_total{protocol=\"native\",reason=\"expired\",} 1.0");
        }
    }

    @Test
    void actionCableConnectionGetsTheUnauthorizedDisconnectFrameAfterExpiryPlusGrace() throws Exception {
        long graceMs = 1_000;
        try (TestGateway g = new TestGateway(dir, c -> c.credentialsGraceMs = graceMs)) {
            String token = shortToken("alice", 2_000);
            long exp = exp(token);
            try (WsTestClient ws = WsTestClient.connect(URI.create(g.ws("/cable")), Map.of("Cookie", "Authorization=" + token),
                    "actioncable-v1-json", "actioncable-unsupported")) {
                assertThat(ws.nextNonPingLine()).isEqualTo("frame {\"type\":\"welcome\"}");
                ws.send(CABLE_NOTIFICATIONS);
                assertThat(ws.nextNonPingLine()).contains("confirm_subscription");
                g.publish("user/alice", "t", "{\"n\":1}");
                assertThat(ws.nextNonPingLine()).endsWith(",\"message\":{\"n\":1}}");

                // Rails' own unauthorized frame, but reconnect:true: with refreshed credentials the client gets back in
                assertThat(ws.nextNonPingLine()).isEqualTo("frame {\"type\":\"disconnect\",\"reason\":\"unauthorized\",\"reconnect\":true}");
                long toldAt = System.currentTimeMillis();
                assertThat(ws.nextNonPingLine()).isEqualTo("close 4001 token expired");
                assertThat(toldAt).isBetween(exp + graceMs, exp + graceMs + 3_000);
            }
            assertThat(g.gateway().metrics().scrape()).contains("tidings_expired_disconnects_total{protocol=\"actioncable\",} 1.0");
        }
    }

    @Test
    void actionCableSubscribeAfterExpiryIsToldAndClosed() throws Exception {
        try (TestGateway g = new TestGateway(dir, c -> c.credentialsGraceMs = 60_000)) {
            String token = shortToken("alice", 3_000);
            long exp = exp(token);
            try (WsTestClient ws = WsTestClient.connect(URI.create(g.ws("/cable")), Map.of("Cookie", "Authorization=" + token), "actioncable-v1-json")) {
                assertThat(ws.nextNonPingLine()).isEqualTo("frame {\"type\":\"welcome\"}");
                Thread.sleep(Math.max(0, exp - System.currentTimeMillis()) + 200);
                ws.send(CABLE_NOTIFICATIONS);
                assertThat(ws.nextNonPingLine()).isEqualTo("frame {\"type\":\"disconnect\",\"reason\":\"unauthorized\",\"reconnect\":true}");
                assertThat(ws.nextNonPingLine()).isEqualTo("close 4001 token expired");
            }
        }
    }

    @Test
    void tokensWithoutExpiryAreNeverClosedForIt() throws Exception {
        try (TestGateway g = new TestGateway(dir, c -> c.credentialsGraceMs = 0)) {
            String token = io.jsonwebtoken.Jwts.builder().subject("alice")
                    .signWith(io.jsonwebtoken.security.Keys.hmacShaKeyFor(TestGateway.SECRET.getBytes()), io.jsonwebtoken.Jwts.SIG.HS256).compact();
            try (WsTestClient ws = WsTestClient.connect(g, token)) {
                assertThat(ws.nextText()).startsWith("{\"op\":\"welcome\"");
                Thread.sleep(2_500); // two ticks
                ws.send("{\"op\":\"ping\"}");
                assertThat(ws.nextText()).isEqualTo("{\"op\":\"pong\"}");
            }
        }
    }
}
