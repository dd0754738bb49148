package io.tidings.server.metrics;

import io.tidings.server.TestGateway;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * GET /metrics of a real gateway: the series alerts and dashboards rely on exist from the start
 * (at 0), before anything has happened, so the first increment is visible to rate(); publishes
 * count events and bytes. The PromQL side is checked against a real Prometheus by ops/check/run.sh.
 */
class MetricsExpositionTest {
    @TempDir
    Path dir;

    @Test
    void seriesExistBeforeTheirFirstEventAndPublishesAreCounted() throws Exception {
        try (TestGateway g = new TestGateway(dir)) {
            String before = scrape(g);
            assertThat(before).contains(
                    "tidings_log_appended_events_total{outcome=\"committed\",} 0.0",
                    "tidings_log_appended_events_total{outcome=\"failed\",} 0.0",
                    "tidings_log_appended_bytes_total 0.0",
                    "tidings_log_retention_deleted_files_total 0.0",
                    "tidings_slow_client_disconnects_total{protocol=\"native\",} 0.0",
                    "tidings_auth_failures_total{protocol=\"native\",reason=\"invalid\",} 0.0",
                    "tidings_joins_total{outcome=\"forbidden\",protocol=\"native\",} 0.0",
                    "tidings_connections{protocol=\"native\",} 0.0",
                    "tidings_log_writable 1.0",
                    "tidings_log_disk_min_free_bytes ",
                    "tidings_log_retention_max_age_seconds 604800.0",
                    "tidings_log_disk_free_bytes ");
            assertThat(before).doesNotContainPattern("tidings_resumes_total\\{[^}]*protocol=\"native\""); // the native protocol has no session resume
            assertThat(before).contains("tidings_resumes_total{outcome=\"recovered\",protocol=\"actioncable\",} 0.0");

            g.publish("teamspaceA/m1", "newIssues", "{\"title\":\"t\"}");
            String after = scrape(g);
            assertThat(after).contains("tidings_log_appended_events_total{outcome=\"committed\",} 1.0");
            // 32 overhead + 13 data + 9 type + 2 + 13 room
            assertThat(after).contains("tidings_log_appended_bytes_total 69.0");
        }
    }

    @Test
    void theIoThreadsAreProbedForLag() throws Exception {
        try (TestGateway g = new TestGateway(dir)) {
            // each I/O thread runs its probe every 20 ms, with no client connected
            long first = lagSamples(scrape(g));
            io.tidings.server.WsTestClient.eventually(() -> {
                try {
                    return lagSamples(scrape(g)) >= first + 20;
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            assertThat(scrape(g)).contains("tidings_io_thread_lag_seconds_max ", "tidings_io_thread_lag_seconds_bucket{le=\"+Inf\",}");
        }
    }

    private static long lagSamples(String metrics) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?m)^tidings_io_thread_lag_seconds_count ([0-9.E]+)$").matcher(metrics);
        return m.find() ? (long) Double.parseDouble(m.group(1)) : 0;
    }

    @Test
    void aPublishLargerThanUndertowsDefaultLimitIsAccepted() {
        try (TestGateway g = new TestGateway(dir)) {
            String blob = "x".repeat(60_000);
            StringBuilder body = new StringBuilder();
            for (int i = 0; i < 50; i++) { // ~3 MB: above Undertow's 2 MiB default, below maxBodyBytes (8 MiB)
                body.append("{\"room\":\"teamspaceA/big\",\"type\":\"big\",\"data\":\"").append(blob).append("\"}\n");
            }
            assertThat(g.publishRaw(body.toString()).status()).isEqualTo(200);
        }
    }

    private static String scrape(TestGateway g) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI.create(g.http("/metrics"))).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        return r.body();
    }
}
