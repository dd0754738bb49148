package io.tidings.server.auth;

import com.fasterxml.jackson.databind.JsonNode;
import io.tidings.server.GatewayConfig;
import io.tidings.server.TestGateway;
import io.tidings.server.WsTestClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;

/** The authorization webhook against a real HTTP server: allow, deny, timeout, errors, caching, bounded concurrency. */
class AuthWebhookTest {
    static final String CABLE = "actioncable-v1-json";

    @TempDir
    Path dir;
    FakeApp app;

    @BeforeEach
    void startApp() throws Exception {
        app = new FakeApp();
        app.sessions.put("s-alice", "alice");
        app.sessions.put("api-bob", "bob");
        app.permissions.put("alice", Set.of("teamspaceA"));
        app.permissions.put("bob", Set.of("projects/42"));
    }

    @AfterEach
    void stopApp() {
        app.close();
    }

    TestGateway gateway(Consumer<GatewayConfig> more) {
        return new TestGateway(dir, c -> {
            app.configure(c);
            c.cableChannels = Map.of("NotificationsChannel", "user/{$sub}", "ProjectChannel", "projects/{id}");
            more.accept(c);
        });
    }

    static WsTestClient nativeWithCookie(TestGateway g, String sid) {
        return WsTestClient.connect(URI.create(g.ws("/v1/ws")), Map.of("Cookie", "connect.sid=" + sid));
    }

    static String join(WsTestClient ws, String room) {
        ws.send("{\"op\":\"join\",\"room\":\"" + room + "\"}");
        return ws.nextText();
    }

    @Test
    void allowAndDenyAtConnectAndAtJoinOverNativeAndActionCable() throws Exception {
        try (TestGateway g = gateway(c -> { })) {
            try (WsTestClient ws = nativeWithCookie(g, "s-alice")) {
                assertThat(ws.nextText()).contains("\"sub\":\"alice\"");
                assertThat(join(ws, "teamspaceA/m1")).isEqualTo("{\"op\":\"joined\",\"room\":\"teamspaceA/m1\"}");
                assertThat(ws.nextText()).contains("\"op\":\"live\"");
                assertThat(join(ws, "teamspaceB")).isEqualTo("{\"op\":\"error\",\"code\":\"forbidden\",\"message\":\"not allowed to join room teamspaceB\",\"room\":\"teamspaceB\"}");
                assertThat(join(ws, "user/alice/inbox")).as("granted by the connect answer: no call").contains("\"op\":\"joined\"");
                ws.nextText();
                g.publish("teamspaceA/m1", "t", "{\"n\":1}");
                g.publish("teamspaceB", "t", "{\"n\":2}");
                g.publish("user/alice/inbox", "t", "{\"n\":3}");
                assertThat(ws.nextText()).contains("\"data\":{\"n\":1}");
                assertThat(ws.nextText()).contains("\"data\":{\"n\":3}");
            }
            assertThat(app.connects.get()).isEqualTo(1);
            assertThat(app.joins.get()).isEqualTo(2);
            JsonNode connect = app.requests.get(0);
            assertThat(connect.path("type").asText()).isEqualTo("connect");
            assertThat(connect.path("protocol").asText()).isEqualTo("native");
            assertThat(connect.path("cookies").toString()).isEqualTo("{\"connect.sid\":\"s-alice\"}");
            assertThat(connect.path("ip").asText()).isEqualTo("127.0.0.1");
            JsonNode join = app.requests.get(1);
            assertThat(join.path("sub").asText()).isEqualTo("alice");
            assertThat(join.path("room").asText()).isEqualTo("teamspaceA/m1");
            assertThat(join.path("cookies").toString()).isEqualTo("{\"connect.sid\":\"s-alice\"}");

            // an API token header, as a Lessy-style client sends it, over ActionCable
            try (WsTestClient ws = WsTestClient.connect(URI.create(g.ws("/cable")), Map.of("X-Api-Token", "api-bob"), CABLE)) {
                assertThat(ws.nextNonPingLine()).isEqualTo("frame {\"type\":\"welcome\"}");
                ws.send("{\"command\":\"subscribe\",\"identifier\":\"{\\\"channel\\\":\\\"ProjectChannel\\\",\\\"id\\\":42}\"}");
                assertThat(ws.nextNonPingLine()).contains("confirm_subscription");
                ws.send("{\"command\":\"subscribe\",\"identifier\":\"{\\\"channel\\\":\\\"ProjectChannel\\\",\\\"id\\\":43}\"}");
                assertThat(ws.nextNonPingLine()).contains("reject_subscription");
                g.publish("projects/43", "t", "{\"n\":4}");
                g.publish("projects/42", "t", "{\"n\":5}");
                assertThat(ws.nextNonPingLine()).endsWith("\"message\":{\"n\":5}}");
            }
            // unknown session: denied at connect with the app's message
            try (WsTestClient ws = nativeWithCookie(g, "s-nobody")) {
                assertThat(ws.nextLine()).isEqualTo("close 4001 please sign in again");
            }
            try (WsTestClient ws = WsTestClient.connect(URI.create(g.ws("/cable")), Map.of("Cookie", "connect.sid=s-nobody"), CABLE)) {
                assertThat(ws.nextLine()).isEqualTo("frame {\"type\":\"disconnect\",\"reason\":\"unauthorized\",\"reconnect\":false}");
                assertThat(ws.nextLine()).isEqualTo("close 4001 please sign in again");
            }
            // no credentials at all: the app is not asked
            int calls = app.requests.size();
            try (WsTestClient ws = WsTestClient.connect(g, null)) {
                assertThat(ws.nextLine()).isEqualTo("close 4001 missing token");
            }
            assertThat(app.requests).hasSize(calls);
            assertThat(g.gateway().metrics().scrape())
                    .contains("tidings_webhook_requests_total{kind=\"connect\",outcome=\"allow\",} 2.0")
                    .contains("tidings_webhook_requests_total{kind=\"connect\",outcome=\"deny\",} 1.0") // the second was cached
                    .contains("tidings_webhook_cache_total{kind=\"connect\",result=\"hit\",} 1.0")
                    .contains("tidings_auth_failures_total{protocol=\"native\",reason=\"denied\",} 1.0");
        }
    }

    @Test
    void aJwtIdentifiesAndTheWebhookAuthorizesJoinsItsGrantsDoNotCover() throws Exception {
        try (TestGateway g = gateway(c -> { });
             WsTestClient ws = WsTestClient.connect(g, TestGateway.token("alice", "teamspaceC"))) {
            assertThat(ws.nextText()).contains("\"sub\":\"alice\"");
            assertThat(join(ws, "teamspaceC/x")).contains("joined");
            ws.nextText();
            assertThat(app.requests).isEmpty();
            assertThat(join(ws, "teamspaceA")).contains("joined");
            assertThat(app.requests).hasSize(1);
            assertThat(app.requests.get(0).path("token").asText()).isNotEmpty();
        }
    }

    @Test
    void aSlowWebhookTimesOutAndTheClientIsRefusedNotHung() throws Exception {
        try (TestGateway g = gateway(c -> c.authWebhookTimeoutMs = 500)) {
            app.delayMs = 3_000;
            long start = System.currentTimeMillis();
            try (WsTestClient ws = nativeWithCookie(g, "s-alice")) {
                assertThat(ws.nextLine()).isEqualTo("close 1013 authorization service timed out; try again later");
            }
            assertThat(System.currentTimeMillis() - start).isLessThan(2_500);
            try (WsTestClient ws = WsTestClient.connect(URI.create(g.ws("/cable")), Map.of("Cookie", "connect.sid=s-alice"), CABLE)) {
                assertThat(ws.nextLine()).isEqualTo("frame {\"type\":\"disconnect\",\"reason\":\"auth_unavailable\",\"reconnect\":true}");
                assertThat(ws.nextLine()).isEqualTo("close 1013 authorization service timed out; try again later");
            }
            // a join that needs the webhook: refused with auth_unavailable; the connection stays usable
            try (WsTestClient ws = WsTestClient.connect(g, TestGateway.token("alice"))) {
                ws.nextText();
                assertThat(join(ws, "teamspaceA")).isEqualTo("{\"op\":\"error\",\"code\":\"auth_unavailable\",\"message\":"
                        + "\"authorization service timed out; try again later\",\"room\":\"teamspaceA\"}");
                ws.send("{\"op\":\"ping\"}");
                assertThat(ws.nextText()).isEqualTo("{\"op\":\"pong\"}");
            }
            assertThat(g.gateway().metrics().scrape()).contains("tidings_webhook_requests_total{kind=\"connect\",outcome=\"timeout\",}");
        }
    }

    @Test
    void errorsFailClosedAndAreNotCached() throws Exception {
        try (TestGateway g = gateway(c -> { })) {
            app.status = 500;
            for (int i = 0; i < 2; i++) {
                try (WsTestClient ws = nativeWithCookie(g, "s-alice")) {
                    assertThat(ws.nextLine()).isEqualTo("close 1013 authorization service failed; try again later");
                }
            }
            assertThat(app.connects.get()).isEqualTo(2);
            app.status = 200;
            app.requireSecret = true;
            try (WsTestClient ws = nativeWithCookie(g, "s-alice")) {
                assertThat(ws.nextText()).contains("\"sub\":\"alice\"");
            }
            // a 200 that breaks the contract is an error too
            app.sessions.put("s-weird", "");
            try (WsTestClient ws = nativeWithCookie(g, "s-weird")) {
                assertThat(ws.nextLine()).isEqualTo("close 1013 authorization service failed; try again later");
            }
        }
        try (TestGateway g = new TestGateway(dir.resolve("other"), c -> {
            c.authWebhookUrl = "http://127.0.0.1:1/nothing-listens-here";
            c.authWebhookCookies = List.of("connect.sid");
        }); WsTestClient ws = nativeWithCookie(g, "s-alice")) {
            assertThat(ws.nextLine()).isEqualTo("close 1013 authorization service unreachable; try again later");
        }
    }

    @Test
    void answersAreCachedForTheTtlAndDenialsToo() throws Exception {
        try (TestGateway g = gateway(c -> c.authWebhookCacheTtlMs = 1_500)) {
            for (int i = 0; i < 3; i++) {
                try (WsTestClient ws = nativeWithCookie(g, "s-alice")) {
                    assertThat(ws.nextText()).contains("\"sub\":\"alice\"");
                    assertThat(join(ws, "teamspaceA/m1")).contains("joined");
                    assertThat(ws.nextText()).contains("live");
                    assertThat(join(ws, "teamspaceB")).contains("forbidden");
                }
                try (WsTestClient ws = nativeWithCookie(g, "s-nobody")) {
                    assertThat(ws.nextLine()).startsWith("close 4001");
                }
            }
            assertThat(app.connects.get()).as("one per distinct credentials").isEqualTo(2);
            assertThat(app.joins.get()).as("one per distinct room").isEqualTo(2);
            Thread.sleep(1_700);
            try (WsTestClient ws = nativeWithCookie(g, "s-alice")) {
                assertThat(ws.nextText()).contains("\"sub\":\"alice\"");
                assertThat(join(ws, "teamspaceA/m1")).contains("joined");
            }
            assertThat(app.connects.get()).isEqualTo(3);
            assertThat(app.joins.get()).isEqualTo(3);
            assertThat(g.gateway().metrics().scrape()).contains("tidings_webhook_cache_total{kind=\"connect\",result=\"hit\",} 4.0");
        }
    }

    @Test
    void concurrencyIsBoundedAndABurstBeyondItIsRefusedQuickly() throws Exception {
        try (TestGateway g = gateway(c -> {
            c.authWebhookMaxConcurrent = 2;
            c.authWebhookQueueWaitMs = 300;
            c.authWebhookTimeoutMs = 5_000;
        })) {
            app.delayMs = 1_000;
            for (int i = 0; i < 8; i++) app.sessions.put("burst-" + i, "user" + i);
            List<CompletableFuture<String>> outcomes = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                String sid = "burst-" + i;
                outcomes.add(CompletableFuture.supplyAsync(() -> {
                    try (WsTestClient ws = nativeWithCookie(g, sid)) {
                        String line = ws.nextLine();
                        return line.startsWith("frame {\"op\":\"welcome\"") ? "welcome" : line;
                    }
                }));
            }
            List<String> results = outcomes.stream().map(CompletableFuture::join).toList();
            assertThat(app.maxInFlight.get()).isLessThanOrEqualTo(2);
            assertThat(results).contains("welcome", "close 1013 authorization service busy; try again later");
            assertThat(results).allMatch(r -> r.equals("welcome") || r.equals("close 1013 authorization service busy; try again later"));
            assertThat(app.connects.get()).isEqualTo((int) results.stream().filter("welcome"::equals).count());
            assertThat(g.gateway().metrics().scrape()).contains("tidings_webhook_requests_total{kind=\"connect\",outcome=\"busy\",}");
        }
    }

    @Test
    void oneConnectionCannotHoldMoreThanAFewJoinsWaitingForTheWebhook() throws Exception {
        try (TestGateway g = gateway(c -> c.authWebhookMaxConcurrent = 32)) {
            try (WsTestClient ws = nativeWithCookie(g, "s-alice")) {
                assertThat(ws.nextText()).contains("\"sub\":\"alice\"");
                app.delayMs = 1_000;
                for (int i = 0; i < 10; i++) ws.send("{\"op\":\"join\",\"room\":\"teamspaceA/m" + i + "\"}");
                List<String> frames = new ArrayList<>();
                while (frames.stream().filter(f -> f.contains("joined") || f.contains("\"op\":\"error\"")).count() < 10) frames.add(ws.nextText());
                assertThat(frames.stream().filter(f -> f.contains("\"code\":\"too_many_requests\"")).count()).isEqualTo(2);
                assertThat(frames.stream().filter(f -> f.contains("\"op\":\"joined\"")).count()).isEqualTo(8);
                assertThat(app.maxInFlight.get()).isLessThanOrEqualTo(Authenticator.MAX_PENDING_JOINS);
            }
        }
    }

    @Test
    void identicalQuestionsInFlightShareOneCall() throws Exception {
        try (TestGateway g = gateway(c -> { })) {
            app.delayMs = 700;
            List<CompletableFuture<String>> outcomes = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                outcomes.add(CompletableFuture.supplyAsync(() -> {
                    try (WsTestClient ws = nativeWithCookie(g, "s-alice")) {
                        return ws.nextText();
                    }
                }));
            }
            assertThat(outcomes.stream().map(CompletableFuture::join).toList()).allMatch(f -> f.contains("\"sub\":\"alice\""));
            assertThat(app.connects.get()).isEqualTo(1);
        }
    }
}
