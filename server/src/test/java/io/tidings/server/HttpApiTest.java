package io.tidings.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** POST /v1/events and GET /v1/events, /healthz, /readyz against a real gateway. */
class HttpApiTest {
    static final int MAX_BODY = 256 * 1024;

    @TempDir
    Path dir;
    TestGateway g;

    @BeforeEach
    void start() {
        g = new TestGateway(dir, c -> {
            c.maxBodyBytes = MAX_BODY;
            c.bodyReadTimeoutMs = 1_000;
        });
    }

    @AfterEach
    void stop() {
        g.close();
    }

    // ---- publish ------------------------------------------------------------------------------

    @Test
    void aBodyThatNeverCompletesHasItsConnectionClosedAndAppendsNothing() throws Exception {
        try (java.net.Socket slow = new java.net.Socket("127.0.0.1", g.port())) {
            slow.setSoTimeout(20_000); // a failure, not a threshold: the gateway closes it after bodyReadTimeoutMs (1 s)
            slow.getOutputStream().write(("POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TestGateway.PUBLISH_KEY
                    + "\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"room\":").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            slow.getOutputStream().flush();
            byte[] rest = slow.getInputStream().readAllBytes(); // returns at the close (anything before it is an error answer)
            assertThat(new String(rest, java.nio.charset.StandardCharsets.UTF_8)).doesNotContain("\"offset\"");
        } catch (java.net.SocketException reset) {
            // closed by a reset: as good
        }
        assertThat(g.publish("teamspaceA", "t", "{}")).isNotEmpty();
        assertThat(g.replayLines("room=teamspaceA")).hasSize(1);
    }

    @Test
    void aSingleEventAnArrayAndNdjsonAreAppendedInOrderWithTheirOffsets() {
        TestGateway.Response one = g.publishRaw("{\"room\":\"teamspaceA/m1\",\"type\":\"newIssues\",\"data\":{\"n\":1}}");
        assertThat(one.status()).isEqualTo(200);
        assertThat(one.json().get("offset").asText()).isEqualTo(one.json().get("offsets").get(0).asText());
        assertThat(one.json().get("duplicate").asBoolean()).isFalse();
        assertThat(one.json().get("duplicates")).isEmpty();

        TestGateway.Response array = g.publishRaw("[{\"room\":\"a\",\"type\":\"t\",\"data\":2},{\"rooms\":[\"a\",\"b\"],\"type\":\"t\",\"data\":[3]}]");
        assertThat(array.status()).isEqualTo(200);
        assertThat(array.json().has("offset")).isFalse();
        TestGateway.Response ndjson = g.publishRaw("{\"room\":\"a\",\"type\":\"t\",\"data\":\"4\"}\n{\"room\":\"b\",\"type\":\"t\",\"data\":null}\n");
        assertThat(ndjson.status()).isEqualTo(200);

        List<String> offsets = new ArrayList<>();
        offsets.add(one.json().get("offset").asText());
        array.json().get("offsets").forEach(o -> offsets.add(o.asText()));
        ndjson.json().get("offsets").forEach(o -> offsets.add(o.asText()));
        List<JsonNode> stored = g.replayLines("");
        assertThat(stored).extracting(l -> l.get("offset").asText()).isEqualTo(offsets);
        assertThat(stored).extracting(l -> l.get("data").toString()).containsExactly("{\"n\":1}", "2", "[3]", "\"4\"", "null");
        assertThat(stored.get(2).get("rooms").toString()).isEqualTo("[\"a\",\"b\"]");
        assertThat(g.gateway().log().head().toString()).isEqualTo(offsets.get(offsets.size() - 1));
    }

    @Test
    void dataWithLineBreaksBetweenTokensStaysOneNdjsonLineWithTheSameValue() {
        String pretty = "{\r\n  \"title\": \"a\\nb\",\n  \"n\": [1,\n 2]\n}";
        assertThat(g.publishRaw("{\"room\":\"a\",\"type\":\"t\",\"data\":" + pretty + "}").status()).isEqualTo(200);
        g.publish("a", "t", "{}");
        List<JsonNode> stored = g.replayLines("room=a"); // parses line by line: a raw line break in data would split the first event
        assertThat(stored).hasSize(2);
        assertThat(stored.get(0).get("data").toString()).isEqualTo("{\"title\":\"a\\nb\",\"n\":[1,2]}");
    }

    @Test
    void badPublishesAreRejectedWithJsonErrorsAndAppendNothing() {
        String ok = "{\"room\":\"a\",\"type\":\"t\",\"data\":1}";
        String big = "\"" + "x".repeat(g.gateway().config().maxEventBytes) + "\"";
        Map<String, Integer> bodies = new LinkedHashMap<>();
        bodies.put("", 400);
        bodies.put("{", 400);
        bodies.put("not json", 400);
        bodies.put("42", 400);
        bodies.put("[]", 400);
        bodies.put("[1]", 400);
        bodies.put("{\"type\":\"t\",\"data\":1}", 400);                                   // no room
        bodies.put("{\"room\":\"a\",\"data\":1}", 400);                                   // no type
        bodies.put("{\"room\":\"a\",\"type\":\"t\"}", 400);                               // no data
        bodies.put("{\"room\":5,\"type\":\"t\",\"data\":1}", 400);                        // wrong types
        bodies.put("{\"room\":\"a\",\"type\":[],\"data\":1}", 400);
        bodies.put("{\"rooms\":\"a\",\"type\":\"t\",\"data\":1}", 400);
        bodies.put("{\"rooms\":[],\"type\":\"t\",\"data\":1}", 400);
        bodies.put("{\"rooms\":[\"a\",7],\"type\":\"t\",\"data\":1}", 400);
        bodies.put("{\"room\":\"a\",\"rooms\":[\"b\"],\"type\":\"t\",\"data\":1}", 400);
        bodies.put("{\"room\":\"a\",\"type\":\"t\",\"data\":1,\"id\":3}", 400);
        bodies.put("{\"room\":\"a\",\"type\":\"t\",\"data\":1,\"extra\":true}", 400);    // unknown field
        bodies.put("{\"room\":\"a//b\",\"type\":\"t\",\"data\":1}", 400);                 // bad room name
        bodies.put("{\"room\":\"a\",\"type\":\"\",\"data\":1}", 400);
        bodies.put("{\"room\":\"a\",\"type\":\"t\",\"data\":{\"open\":1}", 400);          // truncated
        bodies.put("{\"room\":\"a\",\"type\":\"t\",\"data\":" + big + "}", 413);          // data over maxEventBytes
        bodies.put("[" + ok + ",{\"room\":\"a\",\"type\":\"t\"}," + ok + "]", 400);        // one bad event in a batch
        bodies.put(ok + "\n" + ok + "\n{\"room\":\"a\"}\n", 400);                          // one bad NDJSON line
        bodies.put("[" + ok + "," + ok.replace("1}", big + "}") + "]", 413);              // one oversized event in a batch
        bodies.put(ok + "[" + ok + "]", 400);                                              // object then array
        bodies.put("[" + ok + "]" + ok, 400);
        bodies.put("{\"room\":\"a\",\"type\":\"t\",\"data\":" + "[".repeat(2000) + "]".repeat(2000) + "}", 400); // deeper than Jackson allows (found by ProtocolFuzzTest: was a 500)
        for (Map.Entry<String, Integer> b : bodies.entrySet()) {
            TestGateway.Response r = g.publishRaw(b.getKey());
            String what = b.getKey().length() > 80 ? b.getKey().substring(0, 80) + "…" : b.getKey();
            assertThat(r.status()).as(what).isEqualTo(b.getValue());
            JsonNode err = r.json();
            assertThat(err.get("error").asText()).as(what).isEqualTo(b.getValue() == 413 ? "too_large" : "bad_request");
            assertThat(err.get("message").asText()).as(what).isNotEmpty();
        }
        TestGateway.Response tooBig = g.publishRaw("[" + (ok + ",").repeat(MAX_BODY / ok.length()) + ok + "]");
        assertThat(tooBig.status()).isEqualTo(413);
        assertThat(tooBig.json().get("error").asText()).isEqualTo("too_large");

        assertThat(g.gateway().log().stats().events()).isZero();
        assertThat(g.gateway().log().head().isStart()).isTrue();
        assertThat(g.replayLines("")).isEmpty();
    }

    @Test
    void publishAndReplayNeedTheRightKey() {
        String body = "{\"room\":\"a\",\"type\":\"t\",\"data\":1}";
        record Case(String key, int status, String error) {}
        for (Case k : List.of(new Case(null, 401, "unauthorized"), new Case("wrong", 401, "unauthorized"),
                new Case(TestGateway.AUDIT_KEY, 403, "forbidden"))) {
            HttpRequest.Builder rb = HttpRequest.newBuilder(URI.create(g.http("/v1/events"))).POST(HttpRequest.BodyPublishers.ofString(body));
            if (k.key() != null) rb.header("Authorization", "Bearer " + k.key());
            TestGateway.Response r = g.send(rb.build());
            assertThat(r.status()).as(String.valueOf(k.key())).isEqualTo(k.status());
            assertThat(r.json().get("error").asText()).isEqualTo(k.error());
        }
        for (Case k : List.of(new Case(null, 401, "unauthorized"), new Case("wrong", 401, "unauthorized"),
                new Case(TestGateway.PUBLISH_KEY, 403, "forbidden"))) {
            HttpRequest.Builder rb = HttpRequest.newBuilder(URI.create(g.http("/v1/events?room=a"))).GET();
            if (k.key() != null) rb.header("Authorization", "Bearer " + k.key());
            TestGateway.Response r = g.send(rb.build());
            assertThat(r.status()).as(String.valueOf(k.key())).isEqualTo(k.status());
            assertThat(r.json().get("error").asText()).isEqualTo(k.error());
        }
        assertThat(g.gateway().log().stats().events()).isZero();
    }

    @Test
    void aRetriedIdReturnsTheOriginalOffsetAndStoresOneEventAlsoAcrossARestart() {
        String body = "{\"room\":\"a\",\"type\":\"t\",\"id\":\"order-17\",\"data\":{\"v\":1}}";
        TestGateway.Response first = g.publishRaw(body);
        assertThat(first.status()).isEqualTo(200);
        String offset = first.json().get("offset").asText();

        TestGateway.Response retry = g.publishRaw(body);
        assertThat(retry.json().get("offset").asText()).isEqualTo(offset);
        assertThat(retry.json().get("duplicate").asBoolean()).isTrue();
        assertThat(retry.json().get("duplicates").toString()).isEqualTo("[0]");

        TestGateway.Response batch = g.publishRaw("[{\"room\":\"a\",\"type\":\"t\",\"id\":\"order-18\",\"data\":2},"
                + body + ",{\"room\":\"a\",\"type\":\"t\",\"id\":\"order-18\",\"data\":3}]");
        assertThat(batch.status()).isEqualTo(200);
        JsonNode offsets = batch.json().get("offsets");
        assertThat(offsets.get(1).asText()).isEqualTo(offset);
        assertThat(offsets.get(2).asText()).isEqualTo(offsets.get(0).asText()); // repeated within the batch
        assertThat(batch.json().get("duplicates").toString()).isEqualTo("[1,2]");

        g.restart();
        TestGateway.Response afterRestart = g.publishRaw(body);
        assertThat(afterRestart.json().get("offset").asText()).isEqualTo(offset);
        assertThat(afterRestart.json().get("duplicate").asBoolean()).isTrue();

        List<JsonNode> stored = g.replayLines("");
        assertThat(stored).extracting(l -> l.get("id").asText()).containsExactly("order-17", "order-18");
        assertThat(stored.get(0).get("data").toString()).isEqualTo("{\"v\":1}");
        assertThat(stored.get(1).get("data").toString()).isEqualTo("2"); // the first one wins
        assertThat(g.gateway().log().stats().events()).isEqualTo(2);
    }

    // ---- audit replay -------------------------------------------------------------------------

    @Test
    void replayByOffsetRoomLimitAndSubRooms() {
        List<String> all = new ArrayList<>();
        String[] rooms = {"teamspaceA", "teamspaceA/m1", "teamspaceB", "teamspaceA/m2/x", "teamspaceAB", "teamspaceA/m1"};
        for (int i = 0; i < rooms.length; i++) all.add(g.publish(rooms[i], "t", String.valueOf(i)));
        String multi = g.publishRaw("{\"rooms\":[\"teamspaceB\",\"teamspaceA/m2\"],\"type\":\"t\",\"data\":6}").json().get("offset").asText();
        all.add(multi);

        assertThat(offsetsOf(g.replayLines(""))).isEqualTo(all);
        assertThat(offsetsOf(g.replayLines("room=teamspaceA")))
                .containsExactly(all.get(0), all.get(1), all.get(3), all.get(5), multi);
        assertThat(offsetsOf(g.replayLines("room=teamspaceA/m1"))).containsExactly(all.get(1), all.get(5));
        assertThat(offsetsOf(g.replayLines("room=teamspaceB"))).containsExactly(all.get(2), multi);
        assertThat(offsetsOf(g.replayLines("after=" + all.get(2)))).isEqualTo(all.subList(3, all.size()));
        assertThat(offsetsOf(g.replayLines("after=" + all.get(2) + "&room=teamspaceA&limit=2"))).containsExactly(all.get(3), all.get(5));
        assertThat(offsetsOf(g.replayLines("limit=0"))).isEmpty();
        assertThat(offsetsOf(g.replayLines("after=" + multi))).isEmpty();

        JsonNode line = g.replayLines("room=teamspaceB").get(1);
        assertThat(line.get("rooms").toString()).isEqualTo("[\"teamspaceB\",\"teamspaceA/m2\"]");
        assertThat(line.get("type").asText()).isEqualTo("t");
        assertThat(line.get("data").asInt()).isEqualTo(6);
        assertThat(line.has("id")).isFalse();
        Instant.parse(line.get("time").asText());
    }

    @Test
    void replayByTimeIsFromInclusiveToExclusive() throws Exception {
        for (int i = 0; i < 6; i++) {
            g.publish("r", "t", String.valueOf(i));
            Thread.sleep(3); // spread the events over a few milliseconds (not required: expectations come from the stored times)
        }
        List<JsonNode> all = g.replayLines("");
        List<Instant> times = all.stream().map(l -> Instant.parse(l.get("time").asText())).toList();
        Instant from = times.get(2), to = times.get(4);
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < all.size(); i++) {
            if (!times.get(i).isBefore(from) && times.get(i).isBefore(to)) expected.add(all.get(i).get("offset").asText());
        }
        assertThat(expected).isNotEmpty();
        assertThat(offsetsOf(g.replayLines("from=" + from + "&to=" + to))).isEqualTo(expected);
        List<String> fromOnly = new ArrayList<>();
        for (int i = 0; i < all.size(); i++) if (!times.get(i).isBefore(from)) fromOnly.add(all.get(i).get("offset").asText());
        assertThat(offsetsOf(g.replayLines("from=" + from))).isEqualTo(fromOnly);
        assertThat(offsetsOf(g.replayLines("from=" + times.get(5).plusMillis(1)))).isEmpty();
        assertThat(offsetsOf(g.replayLines("to=" + times.get(0)))).isEmpty();
        assertThat(offsetsOf(g.replayLines("from=" + from + "&limit=1"))).containsExactly(fromOnly.get(0));
    }

    @Test
    void replayAnswers410ForAGapAnd400ForBadParameters() {
        String o = g.publish("r", "t", "1");
        String epoch = g.gateway().log().epoch();
        String other = (epoch.startsWith("z") ? "y" : "z") + epoch.substring(1);
        for (String gap : List.of(other + "-" + o.substring(o.lastIndexOf('-') + 1), epoch + "-" + Long.MAX_VALUE / 2, epoch + "-1")) {
            TestGateway.Response r = g.replay("after=" + gap);
            assertThat(r.status()).as(gap).isEqualTo(410);
            assertThat(r.json().get("error").asText()).isEqualTo("gap");
            assertThat(r.json().get("message").asText()).contains(g.gateway().log().firstAvailable().toString());
        }
        for (String bad : List.of("after=nope", "from=yesterday", "to=2026-13-01", "limit=-1", "limit=x",
                "room=a//b", "after=" + o + "&from=2026-01-01T00:00:00Z")) {
            TestGateway.Response r = g.replay(bad);
            assertThat(r.status()).as(bad).isEqualTo(400);
            assertThat(r.json().get("error").asText()).isEqualTo("bad_request");
        }
    }

    @Test
    void healthReadinessAndWrongMethods() {
        TestGateway.Response health = g.send(HttpRequest.newBuilder(URI.create(g.http("/healthz"))).GET().build());
        assertThat(health.status()).isEqualTo(200);
        assertThat(health.json().get("status").asText()).isEqualTo("ok");
        TestGateway.Response ready = g.send(HttpRequest.newBuilder(URI.create(g.http("/readyz"))).GET().build());
        assertThat(ready.status()).isEqualTo(200);
        assertThat(ready.json().get("status").asText()).isEqualTo("ready");
        TestGateway.Response put = g.send(HttpRequest.newBuilder(URI.create(g.http("/v1/events")))
                .PUT(HttpRequest.BodyPublishers.ofString("{}")).build());
        assertThat(put.status()).isEqualTo(405);
        assertThat(put.json().get("error").asText()).isEqualTo("method_not_allowed");
    }

    @Test
    void readinessFailsWhenTheLogCannotCommit() {
        try (TestGateway full = new TestGateway(dir.resolve("full"), c -> c.minFreeBytes = Long.MAX_VALUE / 4)) {
            TestGateway.Response ready = full.send(HttpRequest.newBuilder(URI.create(full.http("/readyz"))).GET().build());
            assertThat(ready.status()).isEqualTo(503);
            assertThat(ready.json().get("error").asText()).isEqualTo("not_ready");
            TestGateway.Response publish = full.publishRaw("{\"room\":\"a\",\"type\":\"t\",\"data\":1}");
            assertThat(publish.status()).isEqualTo(503);
            assertThat(publish.json().get("error").asText()).isEqualTo("log_unavailable");
            assertThat(full.gateway().log().stats().events()).isZero();
        }
    }

    static List<String> offsetsOf(List<JsonNode> lines) {
        return lines.stream().map(l -> l.get("offset").asText()).toList();
    }
}
