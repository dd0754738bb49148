package io.tidings.server.reliability;

import com.fasterxml.jackson.databind.JsonNode;
import io.tidings.server.TestGateway;
import io.tidings.server.http.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Reliability scenario 5 (docs/reliability.md, "Bad input"): a seeded fuzzer sends bad input to every
 * surface of one real gateway — native {@code /v1/ws} frames, Engine.IO/Socket.IO packets, ActionCable
 * commands, and the HTTP API's bodies, headers, methods and query strings. Each case must get a clear
 * answer (an error frame, an HTTP 4xx with a JSON error) or end only its own connection with a proper
 * close code — never a 5xx, a 1011, a hang, or an error or stack trace in the gateway's log. Meanwhile
 * a canary on every protocol must receive every event published during the run, once and in order,
 * and at the end the log must hold exactly the events the gateway acknowledged with 200.
 *
 * <p>{@code ops/reliability/run.sh fuzz [--long] [--seed N]}; knob {@code -Dtidings.reliability.fuzzCases}.
 */
class ProtocolFuzzTest {
    private static final int MAX_INBOUND = 16 * 1024;
    private static final int MAX_BODY = 128 * 1024;
    private static final int WAIT_MS = 10_000;
    private static final List<String> HTTP_TEMPLATES = List.of(
            "{\"room\":\"fuzz/h\",\"type\":\"t\",\"data\":{\"n\":1}}",
            "{\"rooms\":[\"fuzz/h\",\"fuzz/i\"],\"type\":\"update#tasks\",\"id\":\"k1\",\"data\":[1,\"a\",null]}",
            "[{\"room\":\"fuzz/h\",\"type\":\"t\",\"data\":1},{\"room\":\"fuzz/j\",\"type\":\"u\",\"data\":\"x\"}]",
            "{\"room\":\"fuzz/h\",\"type\":\"t\",\"data\":{}}\n{\"room\":\"fuzz/k\",\"type\":\"t\",\"data\":true}\n");

    @TempDir
    Path dir;

    /** What the run saw, per surface and outcome. */
    private final Map<String, Integer> outcomes = new TreeMap<>();
    private final List<String> failures = new ArrayList<>();
    private final Set<String> acknowledged = new HashSet<>();
    private int acknowledgedAnswers;

    @Test
    void badInputGetsAClearAnswerOrEndsOnlyItsOwnConnection() throws Exception {
        int cases = Scale.pick("fuzzCases", 3000, 100_000);
        Random rnd = new Random(Scale.seed());
        FuzzInputs in = new FuzzInputs(rnd);
        long started = System.nanoTime();
        try (LogWatch log = LogWatch.install();
             TestGateway g = new TestGateway(dir, c -> {
                 c.maxInboundFrameBytes = MAX_INBOUND;
                 c.socketIoMaxPayloadBytes = MAX_INBOUND;
                 c.maxBodyBytes = MAX_BODY;
                 c.socketIoPingIntervalMs = 600_000; // the canaries do not answer Engine.IO pings between reads
                 c.cableChannels = Map.of("NotificationsChannel", "user/{$sub}", "FuzzChannel", "fuzz/{id}");
             })) {
            String fuzzToken = TestGateway.token("fuzzer", "fuzz");
            List<Canary> canaries = Canary.everyProtocol(g.ws(""), "canary");
            Map<WsSurface, RawWebSocket> open = new EnumMap<>(WsSurface.class);
            int canaryEvents = 0;
            for (int n = 0; n < cases && failures.size() < 30; n++) {
                if (n % 25 == 0) {
                    acknowledged.add(g.publish("user/canary", "c", "{\"i\":" + canaryEvents++ + "}"));
                    acknowledgedAnswers++;
                }
                int surface = n % 4;
                if (surface == 3) {
                    httpCase(g.port(), in, n);
                    continue;
                }
                WsSurface s = WsSurface.values()[surface];
                RawWebSocket ws = open.computeIfAbsent(s, k -> k.open(g.port(), fuzzToken));
                if (!wsCase(s, ws, in, n)) {
                    ws.close();
                    open.remove(s);
                }
            }
            open.values().forEach(RawWebSocket::close);
            assertThat(failures).as("seed %d: cases that did not end well", Scale.seed()).isEmpty();

            for (Canary c : canaries) c.awaitSequence(canaryEvents);
            canaries.forEach(Canary::close);

            // nothing invalid was appended, nothing acknowledged is missing: the audit replay is exactly the acknowledged events
            List<String> inLog = g.replayLines("").stream().map(l -> l.get("offset").asText()).toList();
            assertThat(new HashSet<>(inLog)).as("seed %d: the log holds exactly the acknowledged events", Scale.seed()).isEqualTo(acknowledged);
            assertThat(inLog).as("no event twice").doesNotHaveDuplicates();

            assertThat(log.problems()).as("seed %d: errors and stack traces in the gateway's log", Scale.seed()).isEmpty();
            double seconds = (System.nanoTime() - started) / 1e9;
            Scale.report("fuzz", String.format("cases=%d canaryEvents=%d×%d protocols (all received in order) acknowledgedEvents=%d "
                            + "logEvents=%d problemsInLog=0 warningsInLog=%d seconds=%.1f outcomes=%s",
                    cases, canaryEvents, canaries.size(), acknowledged.size(), inLog.size(), log.warnings().size(), seconds, outcomes));
        }
    }

    // ---- WebSocket surfaces ---------------------------------------------------------------------

    /** One case on an open connection; false if the connection ended (the next case opens another). */
    private boolean wsCase(WsSurface s, RawWebSocket ws, FuzzInputs in, int n) {
        int kind = in.nextInt(100);
        String template = in.pick(s.validFrames);
        String what;
        boolean framing = false;  // a WebSocket-level violation: the server may drop the TCP connection
        boolean oversized = false;
        boolean mustAnswer = false;
        byte[] sent;
        if (kind < 40) {
            what = "mutated";
            sent = Json.utf8(in.mutate(template));
        } else if (kind < 48) {
            what = "random text";
            sent = Json.utf8(in.text(200));
        } else if (kind < 56) {
            what = "invalid UTF-8";
            sent = in.invalidUtf8(template);
        } else if (kind < 62) {
            what = "deep nesting";
            sent = Json.utf8((s == WsSurface.SOCKET_IO ? "42" : "") + in.deep(50 + in.nextInt(MAX_INBOUND / (s.field.length() + 5)), s.field));
        } else if (kind < 72) {
            what = "wrong type";
            String m = in.mutateJson(s == WsSurface.SOCKET_IO ? template.replaceFirst("^\\d+", "") : template);
            sent = Json.utf8(m == null ? in.mutateText(template) : (s == WsSurface.SOCKET_IO ? "42" : "") + m);
        } else if (kind < 78) {
            what = "unknown op";
            sent = Json.utf8(switch (s) {
                case NATIVE -> "{\"op\":" + Json.quote(in.text(8)) + ",\"room\":\"fuzz\"}";
                case CABLE -> "{\"command\":" + Json.quote(in.text(8)) + ",\"identifier\":\"{}\"}";
                case SOCKET_IO -> in.nextInt(10) + "" + in.nextInt(10) + in.text(10);
            });
        } else if (kind < 79) {
            what = "flood of joins";
            for (int i = 0; i < 300; i++) ws.text(s.join(i));
            sent = Json.utf8(s.join(300));
        } else if (kind < 80) {
            what = "oversized frame";
            oversized = true;
            sent = Json.utf8(template + " ".repeat(MAX_INBOUND + in.nextInt(4096)));
        } else if (kind < 86) {
            what = "probe in fragments";
            mustAnswer = true;
            sent = null;
            byte[] probe = Json.utf8(s.probe(n));
            int cut = in.nextInt(probe.length);
            ws.frame(false, 0, RawWebSocket.TEXT, java.util.Arrays.copyOfRange(probe, 0, cut), true);
            ws.frame(true, 0, 0, java.util.Arrays.copyOfRange(probe, cut, probe.length), true);
        } else if (kind < 96) {
            what = "framing violation";
            framing = true;
            sent = null;
            byte[] payload = Json.utf8(template);
            switch (in.nextInt(7)) {
                case 0 -> ws.frame(true, 0, 3 + in.nextInt(5), payload, true);           // reserved data opcode
                case 1 -> ws.frame(true, 0, 11 + in.nextInt(5), payload, true);          // reserved control opcode
                case 2 -> ws.frame(true, 1 + in.nextInt(7), RawWebSocket.TEXT, payload, true); // reserved bits
                case 3 -> ws.frame(true, 0, RawWebSocket.TEXT, payload, false);          // unmasked
                case 4 -> ws.frame(true, 0, RawWebSocket.PING, new byte[126 + in.nextInt(200)], true); // control frame too long
                case 5 -> ws.frame(true, 0, 0, payload, true);                           // continuation without a start
                default -> ws.frame(true, 0, RawWebSocket.BINARY, in.bytes(300), true);  // binary: not part of any protocol here
            }
        } else {
            what = "truncated frame";
            byte[] frame = RawWebSocket.encode(true, 0, RawWebSocket.TEXT, Json.utf8(template), true);
            ws.writeRaw(java.util.Arrays.copyOf(frame, 1 + in.nextInt(frame.length - 1)));
            ws.close();
            count(s + " truncated, dropped by the client");
            return false;
        }
        if (sent != null) ws.frame(true, 0, RawWebSocket.TEXT, sent, true);
        String input = sent == null ? what : new String(sent, StandardCharsets.UTF_8);
        try {
            String outcome = settle(s, ws, n, mustAnswer);
            boolean ended = !outcome.equals("answered");
            int code = outcome.startsWith("close ") ? Integer.parseInt(outcome.substring(6)) : -1;
            boolean fine = !ended
                    || (oversized ? code == 1009 : s.mayClose(input, code))
                    || (framing && (code == 1002 || outcome.equals("eof")));
            if (mustAnswer && ended) fine = false;
            count(s + " " + what + ": " + outcome);
            if (!fine) fail(n, s + " " + what + " ended with " + outcome, input);
            return !ended;
        } catch (AssertionError e) {
            fail(n, s + " " + what + ": " + e.getMessage(), input);
            return false;
        }
    }

    /**
     * Sends the probe and reads until its answer ("answered") or the end of the connection ("close
     * &lt;code&gt;" or "eof"). Every frame on the way must be a well-formed answer of the protocol.
     */
    private String settle(WsSurface s, RawWebSocket ws, int n, boolean probeSent) {
        if (!probeSent) ws.writeRaw(RawWebSocket.encode(true, 0, RawWebSocket.TEXT, Json.utf8(s.probe(n)), true));
        while (true) {
            RawWebSocket.Frame f = ws.next(WAIT_MS);
            if (f.opcode() == RawWebSocket.CLOSE) return "close " + f.closeCode();
            if (f.opcode() == -1) return "eof";
            if (f.opcode() != RawWebSocket.TEXT) throw new AssertionError("the server sent " + f);
            String text = f.text();
            if (WsSurface.isKeepalive(text)) continue;
            if (s.isProbeAnswer(text, n)) return "answered";
            if (s != WsSurface.SOCKET_IO) {
                JsonNode frame = json(text);
                if (frame == null || !frame.isObject()) throw new AssertionError("the server sent a frame that is not a JSON object: " + text);
            } else if (text.isEmpty() || !Character.isDigit(text.charAt(0))) {
                throw new AssertionError("the server sent a frame that is not an Engine.IO packet: " + text);
            }
        }
    }

    // ---- HTTP API -------------------------------------------------------------------------------

    private void httpCase(int port, FuzzInputs in, int n) {
        int kind = in.nextInt(100);
        String template = in.pick(HTTP_TEMPLATES);
        String what;
        boolean mustReject = false, mustAccept = false, endInput = false;
        byte[] request;
        if (kind < 35) {
            what = "POST mutated body";
            request = post(List.of(), Json.utf8(in.mutate(template)));
        } else if (kind < 43) {
            what = "POST random body";
            request = post(List.of(), in.chance(50) ? in.bytes(400) : in.invalidUtf8(template));
        } else if (kind < 50) {
            what = "POST deep JSON";
            request = post(List.of(), Json.utf8("{\"room\":\"fuzz/h\",\"type\":\"t\",\"data\":" + in.deep(100 + in.nextInt(MAX_BODY / 12), "d") + "}"));
        } else if (kind < 56) {
            what = "POST odd data";
            request = post(List.of(), Json.utf8("{\"room\":\"fuzz/h\",\"type\":\"t\",\"data\":" + in.jsonValue(3) + "}"));
        } else if (kind < 68) {
            what = "GET odd query";
            request = Json.utf8("GET /v1/events?" + query(in) + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer "
                    + TestGateway.AUDIT_KEY + "\r\n\r\n");
        } else if (kind < 80) {
            what = "POST odd headers";
            byte[] body = Json.utf8(template);
            switch (in.nextInt(6)) {
                case 0 -> request = post(List.of("Content-Type: " + in.text(30).replaceAll("[\r\n]", "")), body);
                case 1 -> request = raw("POST /v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: "
                        + new String(in.bytes(40), StandardCharsets.ISO_8859_1).replaceAll("[\r\n]", "") + "\r\nContent-Length: " + body.length + "\r\n\r\n", body);
                case 2 -> {
                    endInput = true; // a body shorter than it says
                    request = raw(head("Content-Length: " + (body.length + 1 + in.nextInt(1000))), body);
                }
                case 3 -> request = raw(head("Content-Length: " + in.pick(List.of("-1", "abc", "99999999999999999999", "1, 2", ""))), body);
                case 4 -> {
                    endInput = true; // a chunked body that is broken or never ends
                    request = raw(head("Transfer-Encoding: chunked"), Json.utf8(in.pick(List.of("zz\r\n", "5\r\n{\"roo\r\n", "ffffffffffffffff\r\nx\r\n0\r\n\r\n",
                        Integer.toHexString(body.length) + "\r\n" + template + "\r\n0\r\n\r\n"))));
                }
                default -> request = raw(head("Content-Length: " + body.length + "\r\nContent-Encoding: gzip"), body);
            }
        } else if (kind < 86) {
            what = "odd method or path";
            String method = in.pick(List.of("PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "FOO", "G\u00c9T", "POST"));
            String path = in.pick(List.of("/v1/events", "/v1/events/", "/v1/events/../v1/events", "/v1/events%00", "/v1//events",
                    "/" + "a".repeat(in.nextInt(20_000)), "/v1/events?" + "x=1&".repeat(in.nextInt(3000)), "*", "/v1/ws", "/socket.io/", "/cable"));
            request = raw(method + " " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer " + TestGateway.PUBLISH_KEY
                    + "\r\nContent-Length: 2\r\n\r\n", Json.utf8("{}"));
        } else if (kind < 93) {
            what = "batch with one invalid event"; // must be refused whole: the valid events of it must not appear
            mustReject = true;
            String bad = in.pick(List.of("{\"room\":\"fuzz/h\",\"data\":1}", "{\"room\":\"\",\"type\":\"t\",\"data\":1}", "{\"room\":\"fuzz/h\",\"type\":\"t\"}",
                    "{\"room\":\"fuzz/h\",\"type\":7,\"data\":1}", "{\"room\":\"fuzz/h\",\"type\":\"t\",\"data\":1,\"extra\":1}", "{\"rooms\":[],\"type\":\"t\",\"data\":1}", "7"));
            String good = "{\"room\":\"fuzz/h\",\"type\":\"t\",\"data\":" + n + "}";
            request = post(List.of(), Json.utf8(in.chance(50) ? "[" + good + "," + bad + "," + good + "]" : good + "\n" + bad + "\n" + good + "\n"));
        } else {
            what = "valid publish";
            mustAccept = true;
            request = post(List.of(), Json.utf8(template));
        }
        try {
            RawHttp.Response r = RawHttp.exchange(port, request, endInput, WAIT_MS);
            count("http " + what + ": " + (r.status() < 0 ? "closed" : r.status() / 100 + "xx"));
            String problem = null;
            if (r.status() >= 500) problem = "HTTP " + r.status();
            else if (mustReject && r.status() != 400) problem = "invalid batch answered " + r.status();
            else if (mustAccept && r.status() != 200) problem = "valid publish answered " + r.status();
            else if (r.status() >= 400 && api(request) && !r.body().isEmpty() && !json(r.body()).has("error")) problem = "error without a JSON error: " + r.body();
            if (problem != null) fail(n, "http " + what + ": " + problem + " " + r.head().split("\r\n")[0], new String(request, StandardCharsets.UTF_8));
            if (r.status() == 200 && request[0] == 'P') {
                for (JsonNode o : json(r.body()).path("offsets")) acknowledged.add(o.asText());
                acknowledgedAnswers++;
            }
        } catch (AssertionError e) {
            fail(n, "http " + what + ": " + e.getMessage(), new String(request, StandardCharsets.UTF_8));
        }
    }

    private static String query(FuzzInputs in) {
        StringBuilder q = new StringBuilder();
        for (int i = in.nextInt(4); i >= 0; i--) {
            String key = in.pick(List.of("room", "after", "from", "to", "limit", "room", "x"));
            String value = in.pick(List.of("", "-1", "0", "99999999999999999999", "2026-13-45T99:99:99Z", "2026-11-23T00:00:00Z", "%zz", "%", "%00",
                    "k3f9a2c1q0ab-1", "fuzz", "fuzz%2Fh", "user%2F", "%2F%2F", "1e3", "NaN"));
            if (in.chance(25)) value = URLEncoder.encode(in.text(12), StandardCharsets.UTF_8);
            q.append(q.isEmpty() ? "" : "&").append(key).append('=').append(value);
        }
        return q.toString();
    }

    /** Whether the request is for the HTTP API (whose errors are JSON), not the WebSocket paths. */
    private static boolean api(byte[] request) {
        String[] line = new String(request, 0, Math.min(request.length, 200), StandardCharsets.ISO_8859_1).split(" ", 3);
        return line.length > 1 && line[1].startsWith("/v1/events");
    }

    private static String head(String header) {
        return "POST /v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer " + TestGateway.PUBLISH_KEY + "\r\n" + header + "\r\n\r\n";
    }

    private static byte[] post(List<String> headers, byte[] body) {
        StringBuilder h = new StringBuilder("Content-Length: " + body.length);
        headers.forEach(x -> h.append("\r\n").append(x));
        return raw(head(h.toString()), body);
    }

    private static byte[] raw(String head, byte[] body) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(head.getBytes(StandardCharsets.UTF_8));
        out.writeBytes(body);
        return out.toByteArray();
    }

    // ---- bookkeeping ----------------------------------------------------------------------------

    private static JsonNode json(String text) {
        try {
            return Json.MAPPER.readTree(text);
        } catch (IOException e) {
            return Json.MAPPER.missingNode();
        }
    }

    private void count(String outcome) {
        outcomes.merge(outcome, 1, Integer::sum);
    }

    private void fail(int n, String what, String input) {
        String shown = input.length() > 300 ? input.substring(0, 300) + "… (" + input.length() + " chars)" : input;
        failures.add("case " + n + ": " + what + "\n    input: " + shown.replace("\r", "\\r").replace("\n", "\\n"));
        if (what.contains("nothing from the server")) dumpThreads(n); // the gateway runs in this JVM: where is it stuck?
    }

    /** Every thread's stack, to target/reliability/fuzz-threads-case-{@code n}.txt. */
    private static void dumpThreads(int n) {
        StringBuilder out = new StringBuilder();
        for (java.lang.management.ThreadInfo t : java.lang.management.ManagementFactory.getThreadMXBean().dumpAllThreads(true, true)) {
            out.append(t.getThreadName()).append(' ').append(t.getThreadState());
            if (t.getLockName() != null) out.append(" on ").append(t.getLockName()).append(" owned by ").append(t.getLockOwnerName());
            out.append('\n');
            for (StackTraceElement e : t.getStackTrace()) out.append("    at ").append(e).append('\n');
            out.append('\n');
        }
        try {
            java.nio.file.Path dir = java.nio.file.Files.createDirectories(java.nio.file.Path.of("target", "reliability"));
            java.nio.file.Files.writeString(dir.resolve("fuzz-threads-case-" + n + ".txt"), out);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
