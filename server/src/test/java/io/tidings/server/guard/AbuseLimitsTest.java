package io.tidings.server.guard;

import io.tidings.server.GatewayConfig;
import io.tidings.server.TestGateway;
import io.tidings.server.WsTestClient;
import io.tidings.server.auth.TokenVerifier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;

/** Per-address limits and origin checks, refused before the upgrade; each trips and recovers. */
class AbuseLimitsTest {
    @TempDir
    Path dir;

    TestGateway gateway(Consumer<GatewayConfig> limits) {
        return new TestGateway(dir, c -> {
            c.limitExemptCidrs = List.of(); // the tests connect from loopback, exempt by default
            c.maxConnectionsPerIp = 0;
            c.connectRatePerIpPerSecond = 0;
            c.maxAuthFailuresPerIp = 0;
            limits.accept(c);
        });
    }

    static URI url(TestGateway g) {
        return uri(g, "/v1/ws?token=" + TestGateway.token("alice"));
    }

    /** A Socket.IO (Engine.IO v4 WebSocket) upgrade URL. */
    static URI socketIo(TestGateway g) {
        return uri(g, "/socket.io/?EIO=4&transport=websocket");
    }

    static URI uri(TestGateway g, String path) {
        return URI.create(g.ws(path));
    }

    /** Opens a native connection and waits for its welcome. */
    static WsTestClient welcomed(URI url, Map<String, String> headers) {
        WsTestClient ws = WsTestClient.connect(url, headers);
        assertThat(ws.nextLine()).startsWith("frame {\"op\":\"welcome\"");
        return ws;
    }

    static WsTestClient welcomed(URI url) {
        return welcomed(url, Map.of());
    }

    @Test
    void connectionRateTripsWith429AndRecovers() throws Exception {
        try (TestGateway g = gateway(c -> {
            c.connectRatePerIpPerSecond = 2;
            c.connectBurstPerIp = 3;
        })) {
            for (int i = 0; i < 3; i++) welcomed(url(g)).abort();
            assertThat(WsTestClient.refusal(url(g), Map.of())).isEqualTo(429);
            assertThat(g.gateway().metrics().scrape()).contains("tidings_connections_refused_total{protocol=\"native\",reason=\"rate\",} 1.0");
            Thread.sleep(700); // 2 per second: one token back
            welcomed(url(g)).abort();
        }
    }

    @Test
    void concurrentConnectionsTripWith429AndASlotFreesWhenAConnectionCloses() throws Exception {
        try (TestGateway g = gateway(c -> c.maxConnectionsPerIp = 2)) {
            assertThat(g.gateway().metrics().scrape()).as("series exist before the first refusal")
                    .contains("tidings_connections_refused_total{protocol=\"native\",reason=\"concurrent\",} 0.0")
                    .contains("tidings_connections_refused_total{protocol=\"actioncable\",reason=\"origin\",} 0.0");
            WsTestClient first = welcomed(url(g));
            WsTestClient second = WsTestClient.connect(uri(g, "/cable"), Map.of("Cookie", "Authorization=" + TestGateway.token("bob")), "actioncable-v1-json");
            assertThat(second.nextNonPingLine()).isEqualTo("frame {\"type\":\"welcome\"}");
            assertThat(WsTestClient.refusal(url(g), Map.of())).isEqualTo(429);
            assertThat(WsTestClient.refusal(uri(g, "/cable"), Map.of(), "actioncable-v1-json")).as("shared by every protocol").isEqualTo(429);
            assertThat(WsTestClient.refusal(socketIo(g), Map.of())).isEqualTo(429);
            first.send("{\"op\":\"bye\"}"); // any frame; then drop the connection
            first.abort();
            awaitWelcome(url(g));
            second.abort();
            // a Socket.IO connection holds a slot too, and gives it back when it closes
            WsTestClient engineIo = awaitOpen(socketIo(g));
            assertThat(WsTestClient.refusal(url(g), Map.of())).isEqualTo(429);
            engineIo.abort();
            awaitWelcome(url(g)).abort();
            // a connection refused at authentication (after the upgrade) gives its slot back when it is closed
            try (WsTestClient bad = awaitAdmitted(URI.create(g.ws("/v1/ws?token=nope")), u -> WsTestClient.connect(u, Map.of()))) { // the slot of the connection just aborted frees asynchronously
                assertThat(bad.nextLine()).startsWith("close 4001");
            }
            awaitWelcome(url(g)).abort();
            assertThat(g.gateway().metrics().scrape()).containsPattern("tidings_connections_refused_total\\{protocol=\"native\",reason=\"concurrent\",} [1-9]");
        }
    }

    @Test
    void failedAuthenticationsBlockTheAddressForAWhileOnWebSocketsAndTheApi() throws Exception {
        try (TestGateway g = gateway(c -> {
            c.maxAuthFailuresPerIp = 3;
            c.authFailureWindowMs = 10_000;
            c.authFailureBlockMs = 1_500;
        })) {
            // expired tokens are not guesses: they never block
            String expired = new TokenVerifier(TestGateway.SECRET).mint("alice", List.of(), Duration.ofSeconds(-10));
            for (int i = 0; i < 4; i++) {
                try (WsTestClient ws = WsTestClient.connect(g, expired)) {
                    assertThat(ws.nextLine()).isEqualTo("close 4001 token expired");
                }
            }
            for (int i = 0; i < 3; i++) {
                try (WsTestClient ws = WsTestClient.connect(g, "guess-" + i)) {
                    assertThat(ws.nextLine()).isEqualTo("close 4001 invalid token");
                }
            }
            long blockedAt = System.currentTimeMillis();
            assertThat(WsTestClient.refusal(url(g), Map.of())).as("even with a valid token").isEqualTo(429);
            TestGateway.Response api = g.publishRaw("{\"room\":\"a\",\"type\":\"t\",\"data\":{}}");
            assertThat(api.status()).isEqualTo(429);
            assertThat(api.json().get("error").asText()).isEqualTo("too_many_requests");
            assertThat(g.gateway().metrics().scrape()).contains("tidings_address_blocks_total 1.0")
                    .contains("tidings_connections_refused_total{protocol=\"native\",reason=\"blocked\",} 1.0");
            Thread.sleep(Math.max(0, blockedAt + 1_700 - System.currentTimeMillis()));
            welcomed(url(g)).abort();
            assertThat(g.publishRaw("{\"room\":\"a\",\"type\":\"t\",\"data\":{}}").status()).isEqualTo(200);

            // unknown API keys count too
            for (int i = 0; i < 3; i++) {
                TestGateway.Response r = g.send(HttpRequest.newBuilder(URI.create(g.http("/v1/events?room=a")))
                        .header("Authorization", "Bearer guessed-key-" + i).GET().build());
                assertThat(r.status()).isEqualTo(401);
            }
            assertThat(g.replay("room=a").status()).isEqualTo(429);
        }
    }

    @Test
    void loopbackIsExemptByDefault() throws Exception {
        try (TestGateway g = new TestGateway(dir, c -> {
            c.connectRatePerIpPerSecond = 1;
            c.connectBurstPerIp = 1;
        })) {
            for (int i = 0; i < 5; i++) welcomed(url(g)).abort();
        }
    }

    @Test
    void behindATrustedProxyTheForwardedAddressIsLimited() throws Exception {
        try (TestGateway g = gateway(c -> {
            c.trustedProxyCidrs = List.of("127.0.0.1/32", "10.0.0.0/8");
            c.maxConnectionsPerIp = 1;
        })) {
            WsTestClient a = welcomed(url(g), Map.of("X-Forwarded-For", "203.0.113.7"));
            // the client wrote the left part itself; the proxies (127.0.0.1, 10.1.2.3) added the rest
            assertThat(WsTestClient.refusal(url(g), Map.of("X-Forwarded-For", "198.51.100.1, 203.0.113.7, 10.1.2.3"))).isEqualTo(429);
            welcomed(url(g), Map.of("X-Forwarded-For", "203.0.113.8")).abort();
            a.abort();
        }
    }

    @Test
    void cookieAuthenticatedUpgradesFromOtherOriginsAreRefusedWith403() throws Exception {
        String token = TestGateway.token("alice");
        try (TestGateway g = gateway(c -> { })) {
            String self = "http://127.0.0.1:" + g.port();
            Map<String, String> cookie = Map.of("Cookie", "Authorization=" + token, "Origin", "https://evil.example");
            assertThat(WsTestClient.refusal(uri(g, "/v1/ws"), cookie)).isEqualTo(403);
            assertThat(WsTestClient.refusal(uri(g, "/cable"), cookie, "actioncable-v1-json")).isEqualTo(403);
            assertThat(WsTestClient.refusal(socketIo(g), cookie)).isEqualTo(403);
            welcomed(uri(g, "/v1/ws"), Map.of("Cookie", "Authorization=" + token, "Origin", self)).abort();
            welcomed(uri(g, "/v1/ws"), Map.of("Cookie", "Authorization=" + token)).abort(); // no Origin: not a browser
            // a token the page sent itself is not hijackable: accepted, cookies ignored
            welcomed(uri(g, "/v1/ws?token=" + token), cookie).abort();
            // nothing to hijack without credentials: upgraded, then unauthorized
            try (WsTestClient ws = WsTestClient.connect(uri(g, "/v1/ws"), Map.of("Origin", "https://evil.example"))) {
                assertThat(ws.nextLine()).isEqualTo("close 4001 missing token");
            }
            assertThat(g.gateway().metrics().scrape())
                    .contains("tidings_connections_refused_total{protocol=\"native\",reason=\"origin\",} 1.0")
                    .contains("tidings_connections_refused_total{protocol=\"socketio\",reason=\"origin\",} 1.0");
        }
        try (TestGateway g = new TestGateway(dir.resolve("allowed"), c -> {
            c.allowedOrigins = List.of("https://app.example.com", "https://*.example.org");
            c.authWebhookUrl = "http://127.0.0.1:1/unused";
            c.authWebhookCookies = List.of("connect.sid");
        })) {
            List<String> accepted = new ArrayList<>();
            for (String origin : List.of("https://app.example.com", "https://x.example.org", "https://example.org",
                    "https://evil.com", "http://app.example.com", "https://app.example.com.evil.com", "null")) {
                try {
                    welcomed(uri(g, "/v1/ws"), Map.of("Cookie", "Authorization=" + token, "Origin", origin)).abort();
                    accepted.add(origin);
                } catch (WsTestClient.Refused r) {
                    assertThat(r.status).isEqualTo(403);
                }
            }
            assertThat(accepted).containsExactly("https://app.example.com", "https://x.example.org");
            // a webhook session cookie is a credential cookie too
            assertThat(WsTestClient.refusal(uri(g, "/v1/ws"), Map.of("Cookie", "connect.sid=s1", "Origin", "https://evil.com"))).isEqualTo(403);
        }
    }

    private static WsTestClient awaitWelcome(URI url) throws InterruptedException {
        return awaitAdmitted(url, AbuseLimitsTest::welcomed);
    }

    /** Opens a Socket.IO connection (until its slot is free) and waits for the Engine.IO open packet. */
    private static WsTestClient awaitOpen(URI url) throws InterruptedException {
        return awaitAdmitted(url, u -> {
            WsTestClient ws = WsTestClient.connect(u, Map.of());
            assertThat(ws.nextLine()).startsWith("frame 0{\"sid\":");
            return ws;
        });
    }

    private interface Opener {
        WsTestClient open(URI url);
    }

    private static WsTestClient awaitAdmitted(URI url, Opener opener) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 10_000;
        while (true) {
            try {
                return opener.open(url);
            } catch (WsTestClient.Refused r) {
                if (System.currentTimeMillis() > deadline) throw new AssertionError("still refused with " + r.status);
                Thread.sleep(100);
            }
        }
    }
}
