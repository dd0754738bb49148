package io.tidings.server.console;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tidings.server.NodeScript;
import io.tidings.server.TestGateway;
import io.tidings.server.auth.ApiKeys;
import io.tidings.server.http.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.StringJoiner;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The web console in a real browser: Debian's headless Chromium driven by puppeteer-core
 * (src/test/node/console-browser.js) against a real gateway on a random port, with 1,000 real
 * WebSocket clients (src/test/node/console-clients.js) and 10,000 events in the log. Each case the
 * script checks prints "ok <case>"; screenshots go to target/console-screenshots/.
 */
class ConsoleBrowserTest {
    static final String CONSOLE_KEY = "console-key-console-key";
    static final String LIMITED_KEY = "tenant-a-audit-key-0123";
    static final int BIG = 10_000;
    static final int CLIENTS = 1_000;
    static final String VICTIM = "user-0017";
    static final List<String> CASES = List.of("headers", "signin-bad", "signin-good", "overview", "tail", "tail-fast", "xss",
            "replay", "download", "connections", "publish", "room-limited", "offsite");

    @TempDir
    Path dir;

    @Test
    void consoleWorksInChromium() throws Exception {
        try (TestGateway gw = new TestGateway(dir.resolve("data"), c -> c.apiKeys = List.of(
                new ApiKeys.Spec("console", CONSOLE_KEY, List.of(ApiKeys.Scope.AUDIT, ApiKeys.Scope.PUBLISH), List.of()),
                new ApiKeys.Spec("tenant-a-auditor", LIMITED_KEY, List.of(ApiKeys.Scope.AUDIT), List.of("tenant-a"))))) {
            StringJoiner big = new StringJoiner(",", "[", "]");
            for (int i = 0; i < BIG; i++) big.add("{\"room\":\"audit/big\",\"type\":\"audit.entry\",\"data\":{\"n\":" + i + "}}");
            assertThat(gw.publishRaw(big.toString()).status()).isEqualTo(200);
            gw.publish("tenant-b/xss", "xss", "{\"html\":\"<img src=x onerror=\\\"window.__xss=1;alert(1)\\\">\","
                    + "\"script\":\"</script><script>window.__xss=2;alert(2)</script>\"}");
            int limitedEvents = 5;
            for (int i = 0; i < limitedEvents; i++) gw.publish("tenant-a/news", "news", "{\"i\":" + i + "}");

            List<String> tokens = new ArrayList<>();
            for (int i = 0; i < CLIENTS; i++) {
                String sub = String.format("user-%04d", i);
                String room = i % 10 == 0 ? "tenant-a/u" + i : "user/" + sub;
                tokens.add(sub + " " + room + " " + TestGateway.token(sub, room));
            }
            Path tokenFile = Files.write(dir.resolve("tokens.txt"), tokens);
            String ws = "ws://127.0.0.1:" + gw.port();
            String http = "http://127.0.0.1:" + gw.port();
            try (NodeScript clients = NodeScript.start("console-clients.js", ws, tokenFile.toString())) {
                clients.awaitLine("ready " + CLIENTS, 60);
                ObjectNode cfg = Json.MAPPER.createObjectNode()
                        .put("consoleKey", CONSOLE_KEY).put("limitedKey", LIMITED_KEY).put("publishKey", TestGateway.PUBLISH_KEY)
                        .put("screenshots", Path.of("target/console-screenshots").toAbsolutePath().toString())
                        .put("xssRoom", "tenant-b/xss").put("bigRoom", "audit/big").put("bigCount", BIG)
                        .put("clients", CLIENTS).put("victim", VICTIM)
                        .put("limitedPrefix", "tenant-a").put("limitedClients", CLIENTS / 10).put("limitedEvents", limitedEvents);
                try (NodeScript browser = NodeScript.start("console-browser.js", http, cfg.toString())) {
                    for (String c : CASES) {
                        String line = browser.awaitLineOrFail("ok " + c, "fail ", 90);
                        System.out.println("console browser test: " + line);
                    }
                    browser.awaitLine("done", 30);
                    assertThat(browser.waitFor(30)).isEqualTo(0);
                }
                clients.awaitLine("resumed " + VICTIM, 10);
                clients.send("exit");
            }
        }
    }
}
