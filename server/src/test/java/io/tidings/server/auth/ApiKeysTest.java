package io.tidings.server.auth;

import com.fasterxml.jackson.databind.JsonNode;
import io.tidings.server.GatewayConfig;
import io.tidings.server.TestGateway;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Named HTTP API keys limited to scopes and room prefixes, and their reload from the config file. */
class ApiKeysTest {
    static final String TEAM_A_PUBLISHER = "team-a-publisher-key-0123456789";
    static final String TEAM_A_AUDITOR = "team-a-auditor-key-0123456789";
    static final String BOTH_M1 = "model-m1-both-key-0123456789";

    @TempDir
    Path dir;

    static List<ApiKeys.Spec> keys() {
        return List.of(
                new ApiKeys.Spec("team-a-publisher", TEAM_A_PUBLISHER, List.of(ApiKeys.Scope.PUBLISH), List.of("teamspaceA")),
                new ApiKeys.Spec("team-a-auditor", TEAM_A_AUDITOR, List.of(ApiKeys.Scope.AUDIT), List.of("teamspaceA")),
                new ApiKeys.Spec("m1", BOTH_M1, List.of(ApiKeys.Scope.PUBLISH, ApiKeys.Scope.AUDIT), List.of("teamspaceB/m1", "user")));
    }

    static TestGateway.Response post(TestGateway g, String key, String body) {
        return g.send(HttpRequest.newBuilder(URI.create(g.http("/v1/events"))).header("Authorization", "Bearer " + key)
                .POST(HttpRequest.BodyPublishers.ofString(body)).build());
    }

    static TestGateway.Response get(TestGateway g, String key, String query) {
        return g.send(HttpRequest.newBuilder(URI.create(g.http("/v1/events?" + query))).header("Authorization", "Bearer " + key).GET().build());
    }

    static List<JsonNode> lines(TestGateway.Response r) {
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        List<JsonNode> out = new ArrayList<>();
        for (String line : r.body().split("\n")) if (!line.isBlank()) out.add(new TestGateway.Response(200, line).json());
        return out;
    }

    static String event(String room) {
        return "{\"room\":\"" + room + "\",\"type\":\"t\",\"data\":{}}";
    }

    @Test
    void aPublishKeyPublishesOnlyWithinItsRoomsAndAppendsNothingOtherwise() {
        try (TestGateway g = new TestGateway(dir, c -> c.apiKeys = keys())) {
            assertThat(post(g, TEAM_A_PUBLISHER, event("teamspaceA/m1")).status()).isEqualTo(200);
            assertThat(post(g, TEAM_A_PUBLISHER, event("teamspaceA")).status()).isEqualTo(200);
            TestGateway.Response outside = post(g, TEAM_A_PUBLISHER, event("teamspaceAB/m1")); // a prefix of the name, not of the path
            assertThat(outside.status()).isEqualTo(403);
            assertThat(outside.json().get("message").asText()).isEqualTo("key 'team-a-publisher' may not publish to room teamspaceAB/m1");
            // a batch with one room outside: all refused
            assertThat(post(g, TEAM_A_PUBLISHER, "[" + event("teamspaceA/m2") + "," + event("teamspaceB") + "]").status()).isEqualTo(403);
            assertThat(post(g, TEAM_A_PUBLISHER, "{\"rooms\":[\"teamspaceA/m3\",\"teamspaceB/m3\"],\"type\":\"t\",\"data\":{}}").status()).isEqualTo(403);
            // the key may not audit
            assertThat(get(g, TEAM_A_PUBLISHER, "room=teamspaceA").status()).isEqualTo(403);

            assertThat(g.replayLines("").stream().map(l -> l.get("rooms").get(0).asText()).toList())
                    .containsExactly("teamspaceA/m1", "teamspaceA");
            assertThat(g.gateway().metrics().scrape())
                    .contains("tidings_api_key_requests_total{key=\"team-a-publisher\",outcome=\"forbidden_room\",scope=\"publish\",} 3.0")
                    .contains("tidings_api_key_requests_total{key=\"team-a-publisher\",outcome=\"ok\",scope=\"publish\",} 2.0");
        }
    }

    @Test
    void anAuditKeyReadsOnlyWithinItsRoomsAndSeesOnlyThoseRoomsOfAnEvent() {
        try (TestGateway g = new TestGateway(dir, c -> c.apiKeys = keys())) {
            g.publish("teamspaceA/m1", "t", "{\"n\":1}");
            g.publish("teamspaceB/m1", "t", "{\"n\":2}");
            g.publishRaw("{\"rooms\":[\"teamspaceB/m2\",\"teamspaceA/m2\"],\"type\":\"t\",\"data\":{\"n\":3}}");
            g.publish("user/alice", "t", "{\"n\":4}");

            List<JsonNode> all = lines(get(g, TEAM_A_AUDITOR, ""));
            assertThat(all.stream().map(l -> l.get("data").get("n").asInt()).toList()).containsExactly(1, 3);
            assertThat(all.get(1).get("rooms").toString()).isEqualTo("[\"teamspaceA/m2\"]"); // teamspaceB/m2 not shown
            assertThat(lines(get(g, TEAM_A_AUDITOR, "room=teamspaceA/m2")).stream().map(l -> l.get("data").get("n").asInt()).toList())
                    .containsExactly(3);
            assertThat(get(g, TEAM_A_AUDITOR, "room=teamspaceB").status()).isEqualTo(403);
            assertThat(get(g, BOTH_M1, "room=teamspaceB").status()).as("a room above the key's prefix").isEqualTo(403);
            assertThat(lines(get(g, BOTH_M1, "")).stream().map(l -> l.get("data").get("n").asInt()).toList()).containsExactly(2, 4);
            assertThat(lines(get(g, BOTH_M1, "room=teamspaceB/m1")).stream().map(l -> l.get("data").get("n").asInt()).toList()).containsExactly(2);
            // the unrestricted legacy key sees everything, with every room
            assertThat(g.replayLines("")).hasSize(4);
            assertThat(g.replayLines("room=teamspaceA/m2").get(0).get("rooms").toString()).isEqualTo("[\"teamspaceB/m2\",\"teamspaceA/m2\"]");
            // unknown key 401, no key 401
            assertThat(get(g, "nope-nope-nope-nope-nope", "").status()).isEqualTo(401);
        }
    }

    @Test
    void keysAreReloadedFromTheConfigFileAndABadFileKeepsTheOldOnes() throws Exception {
        Path file = dir.resolve("tidings.yaml");
        Files.writeString(file, """
                apiKeys:
                  - name: publisher-2026-11
                    key: first-publish-key-0123456789
                    scopes: [publish]
                    rooms: [teamspaceA]
                """);
        try (TestGateway g = new TestGateway(dir.resolve("data"), c -> {
            c.apiKeys = load(file).apiKeys; // as the CLI does: flags and test settings over the file
            c.withSource(file);
            c.configReloadIntervalMs = 100;
        })) {
            assertThat(post(g, "first-publish-key-0123456789", event("teamspaceA")).status()).isEqualTo(200);
            assertThat(post(g, "second-publish-key-0123456789", event("teamspaceA")).status()).isEqualTo(401);

            // rotation: both keys for a while, then only the new one
            Files.writeString(file, """
                    apiKeys:
                      - {name: publisher-2026-11, key: first-publish-key-0123456789, scopes: [publish], rooms: [teamspaceA]}
                      - {name: publisher-2026-12, key: second-publish-key-0123456789, scopes: [PUBLISH], rooms: [teamspaceA, teamspaceB]}
                    """);
            awaitStatus(g, "second-publish-key-0123456789", event("teamspaceB"), 200);
            assertThat(post(g, "first-publish-key-0123456789", event("teamspaceA")).status()).isEqualTo(200);
            Files.writeString(file, """
                    apiKeys:
                      - {name: publisher-2026-12, key: second-publish-key-0123456789, scopes: [publish], rooms: [teamspaceA, teamspaceB]}
                    """);
            awaitStatus(g, "first-publish-key-0123456789", event("teamspaceA"), 401);

            // a broken file and an invalid key set change nothing
            Files.writeString(file, "apiKeys: [ {name: x, key: \n");
            awaitMetric(g, "tidings_config_reloads_total{outcome=\"failed\",} 1.0");
            Files.writeString(file, "apiKeys:\n  - {name: short, key: tooshort, scopes: [publish]}\n");
            awaitMetric(g, "tidings_config_reloads_total{outcome=\"failed\",} 2.0");
            Files.writeString(file, "apiKeys:\n  - {name: typo, key: third-publish-key-0123456789, scope: [publish]}\n");
            awaitMetric(g, "tidings_config_reloads_total{outcome=\"failed\",} 3.0");
            assertThat(post(g, "second-publish-key-0123456789", event("teamspaceB")).status()).isEqualTo(200);
            assertThat(post(g, "third-publish-key-0123456789", event("teamspaceB")).status()).isEqualTo(401);
            assertThat(g.gateway().metrics().scrape()).contains("tidings_config_reloads_total{outcome=\"ok\",} 2.0");
        }
    }

    @Test
    void apiKeysComeFromYamlOrFromAJsonEnvironmentVariable() throws Exception {
        Path file = dir.resolve("t.yaml");
        Files.writeString(file, "apiKeys:\n  - {name: a, key: aaaaaaaaaaaaaaaaaaaa, scopes: [publish, audit], rooms: [x/y]}\n");
        GatewayConfig c = GatewayConfig.load(file, Map.of());
        assertThat(c.apiKeys).containsExactly(new ApiKeys.Spec("a", "aaaaaaaaaaaaaaaaaaaa", List.of(ApiKeys.Scope.PUBLISH, ApiKeys.Scope.AUDIT), List.of("x/y")));
        assertThat(c.source()).isEqualTo(file);
        GatewayConfig e = GatewayConfig.load(null, Map.of("TIDINGS_API_KEYS",
                "[{\"name\":\"b\",\"key\":\"bbbbbbbbbbbbbbbbbbbb\",\"scopes\":[\"audit\"]}]", "TIDINGS_PUBLISH_KEYS", "k1,k2"));
        assertThat(e.apiKeys).containsExactly(new ApiKeys.Spec("b", "bbbbbbbbbbbbbbbbbbbb", List.of(ApiKeys.Scope.AUDIT), null));
        assertThat(e.publishKeys).containsExactly("k1", "k2");
    }

    @Test
    void invalidKeySetsAreRefusedWithoutShowingTheKey() {
        List<String> none = List.of();
        assertThatThrownBy(() -> new ApiKeys(List.of(new ApiKeys.Spec("a", "short", List.of(ApiKeys.Scope.PUBLISH), null)), none, none))
                .hasMessage("apiKeys[0] (a): key must be at least 16 characters");
        assertThatThrownBy(() -> new ApiKeys(List.of(new ApiKeys.Spec("a", "aaaaaaaaaaaaaaaaaaaa", List.of(), null)), none, none))
                .hasMessageContaining("scopes");
        assertThatThrownBy(() -> new ApiKeys(List.of(new ApiKeys.Spec("a", "aaaaaaaaaaaaaaaaaaaa", List.of(ApiKeys.Scope.AUDIT), List.of("/x"))), none, none))
                .hasMessageContaining("empty segment");
        assertThatThrownBy(() -> new ApiKeys(List.of(new ApiKeys.Spec("a", "aaaaaaaaaaaaaaaaaaaa", List.of(ApiKeys.Scope.AUDIT), null),
                new ApiKeys.Spec("b", "aaaaaaaaaaaaaaaaaaaa", List.of(ApiKeys.Scope.PUBLISH), null)), none, none))
                .hasMessage("apiKeys[1] (b): the same key is configured twice").hasMessageNotContaining("aaaa");
        // the legacy lists: short keys are accepted; one key in both lists has both scopes
        ApiKeys legacy = new ApiKeys(List.of("both-key"), List.of("both-key"));
        assertThat(legacy.allows("both-key", ApiKeys.Scope.PUBLISH)).isTrue();
        assertThat(legacy.allows("both-key", ApiKeys.Scope.AUDIT)).isTrue();
    }

    private static GatewayConfig load(Path file) {
        try {
            return GatewayConfig.load(file, Map.of());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static void awaitStatus(TestGateway g, String key, String body, int status) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 10_000;
        int last;
        do {
            last = post(g, key, body).status();
            if (last == status) return;
            Thread.sleep(100);
        } while (System.currentTimeMillis() < deadline);
        throw new AssertionError("still " + last + " instead of " + status);
    }

    private static void awaitMetric(TestGateway g, String line) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 10_000;
        while (!g.gateway().metrics().scrape().contains(line)) {
            if (System.currentTimeMillis() > deadline) throw new AssertionError("no metric line " + line);
            Thread.sleep(100);
        }
    }
}
