package io.tidings.server.console;

import io.tidings.server.TestGateway;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The console's switch, its headers and its refusals, over real HTTP against a real gateway. */
class ConsoleApiTest {
    private final HttpClient http = HttpClient.newHttpClient();

    @TempDir
    Path dir;

    private HttpResponse<String> get(int port, String path, String key) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path));
        if (key != null) b.header("Authorization", "Bearer " + key);
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void endpointsRefuseWithoutAValidAuditKeyAndEveryResponseIsLockedDown() throws Exception {
        try (TestGateway gw = new TestGateway(dir)) {
            for (String endpoint : new String[] {"whoami", "overview", "connections"}) {
                assertThat(get(gw.port(), "/console/api/" + endpoint, null).statusCode()).isEqualTo(401);
                assertThat(get(gw.port(), "/console/api/" + endpoint, "wrong-key-wrong-key").statusCode()).isEqualTo(401);
                assertThat(get(gw.port(), "/console/api/" + endpoint, TestGateway.PUBLISH_KEY).statusCode()).isEqualTo(403);
                assertThat(get(gw.port(), "/console/api/" + endpoint, TestGateway.AUDIT_KEY).statusCode()).isEqualTo(200);
            }
            assertThat(get(gw.port(), "/console/api/disconnect?id=1&reason=x", TestGateway.AUDIT_KEY).statusCode()).isEqualTo(405);
            for (String path : new String[] {"/console/", "/console/app.js", "/console/api/overview", "/console/nope"}) {
                HttpResponse<String> r = get(gw.port(), path, null);
                assertThat(r.headers().firstValue("Content-Security-Policy")).hasValue(ConsoleHandler.CSP);
                assertThat(r.headers().firstValue("X-Frame-Options")).hasValue("DENY");
                assertThat(r.headers().firstValue("X-Content-Type-Options")).hasValue("nosniff");
            }
            assertThat(get(gw.port(), "/console/app.js", null).headers().firstValue("Content-Type")).hasValue("text/javascript; charset=utf-8");
            assertThat(get(gw.port(), "/console/nope", null).statusCode()).isEqualTo(404);
        }
    }

    @Test
    void switchedOffTheConsoleIsNotServed() throws Exception {
        try (TestGateway gw = new TestGateway(dir, c -> c.consoleEnabled = false)) {
            assertThat(get(gw.port(), "/console/", null).statusCode()).isEqualTo(404);
            assertThat(get(gw.port(), "/console/api/overview", TestGateway.AUDIT_KEY).statusCode()).isEqualTo(404);
        }
    }
}
