package io.tidings.server.reliability;

import io.tidings.server.http.Json;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A WebSocket protocol of the gateway as the fuzzer sees it: how to open a connection that is ready
 * for frames, valid frames to mutate, a probe that gets a unique answer while the connection is
 * usable, a join to flood with, and the close codes with which the server may end a connection
 * because of bad input. Fuzz connections hold a token granting {@code fuzz}; the cable gateway maps
 * {@code FuzzChannel} {@code id} to {@code fuzz/<id>}.
 */
enum WsSurface {
    NATIVE("/v1/ws", "op", Set.of(1002, 1007, 1009),
            List.of("{\"op\":\"join\",\"room\":\"fuzz/a\"}", "{\"op\":\"join\",\"room\":\"fuzz\",\"after\":\"k3f9a2c1q0ab-5\"}",
                    "{\"op\":\"leave\",\"room\":\"fuzz/a\"}", "{\"op\":\"ping\"}", "{\"op\":\"join\",\"room\":\"user/other\"}",
                    "{\"op\":\"join\",\"room\":\"fuzz/b\",\"after\":\"malformed\"}")) {
        @Override
        RawWebSocket open(int port, String token) {
            RawWebSocket ws = upgraded(RawWebSocket.open(port, path, Map.of("Authorization", "Bearer " + token)));
            expect(ws, "{\"op\":\"welcome\"");
            return ws;
        }

        @Override
        String probe(int n) {
            return "{\"op\":\"leave\",\"room\":\"probe/" + n + "\"}";
        }

        @Override
        boolean isProbeAnswer(String frame, int n) {
            return frame.contains("\"room\":\"probe/" + n + "\"");
        }

        @Override
        String join(int i) {
            return "{\"op\":\"join\",\"room\":\"fuzz/f" + i + "\"}";
        }
    },

    SOCKET_IO("/socket.io/?EIO=4&transport=websocket", "account", Set.of(1002, 1007, 1009),
            List.of("42[\"join\",{\"account\":\"fuzz\",\"model\":\"m1\"}]", "421[\"join\",{\"account\":\"fuzz\"}]",
                    "42[\"leave\",{\"account\":\"fuzz\"}]", "422[\"leave\",{\"account\":\"fuzz\",\"model\":\"m1\"}]",
                    "423[\"join\",{\"account\":\"user\",\"model\":\"other\"}]", "3", "5", "6", "431[]", "41",
                    "40/admin,{}", "40{\"token\":\"x\"}", "1", "44{\"message\":\"x\"}", "42/admin,[\"join\",{}]")) {
        @Override
        RawWebSocket open(int port, String token) {
            RawWebSocket ws = upgraded(RawWebSocket.open(port, path, Map.of()));
            expect(ws, "0{");
            ws.text("40{\"token\":" + Json.quote(token) + "}");
            expect(ws, "40{\"sid\"");
            return ws;
        }

        @Override
        String probe(int n) {
            return "42" + (n + 1000) + "[\"probe\"]";
        }

        @Override
        boolean isProbeAnswer(String frame, int n) {
            return frame.startsWith("43" + (n + 1000) + "[");
        }

        @Override
        String join(int i) {
            return "42[\"join\",{\"account\":\"fuzz\",\"model\":\"f" + i + "\"}]";
        }

        @Override
        boolean mayClose(String input, int code) {
            return super.mayClose(input, code) || (input.startsWith("1") && code == 1001); // an Engine.IO close packet
        }
    },

    CABLE("/cable", "command", Set.of(1002, 1007, 1009),
            List.of(subscribe("{\"channel\":\"FuzzChannel\",\"id\":1}"), subscribe("{\"channel\":\"FuzzChannel\",\"id\":\"x\"}"),
                    subscribe("{\"channel\":\"NotificationsChannel\"}"),
                    "{\"command\":\"unsubscribe\",\"identifier\":\"{\\\"channel\\\":\\\"FuzzChannel\\\",\\\"id\\\":1}\"}",
                    "{\"command\":\"message\",\"identifier\":\"{\\\"channel\\\":\\\"FuzzChannel\\\",\\\"id\\\":1}\",\"data\":\"{\\\"action\\\":\\\"x\\\"}\"}",
                    "{\"command\":\"history\",\"identifier\":\"{\\\"channel\\\":\\\"FuzzChannel\\\",\\\"id\\\":1}\",\"history\":{\"since\":0}}",
                    "{\"command\":\"pong\"}", "{\"command\":\"whisper\",\"identifier\":\"{}\",\"data\":{}}")) {
        @Override
        RawWebSocket open(int port, String token) {
            RawWebSocket ws = upgraded(RawWebSocket.open(port, path, Map.of("Cookie", "Authorization=" + token,
                    "Sec-WebSocket-Protocol", "actioncable-v1-json")));
            expect(ws, "{\"type\":\"welcome\"");
            return ws;
        }

        @Override
        String probe(int n) {
            return subscribe("{\"channel\":\"Probe\",\"n\":" + n + "}");
        }

        @Override
        boolean isProbeAnswer(String frame, int n) {
            return frame.equals("{\"identifier\":" + Json.quote("{\"channel\":\"Probe\",\"n\":" + n + "}") + ",\"type\":\"reject_subscription\"}");
        }

        @Override
        String join(int i) {
            return subscribe("{\"channel\":\"FuzzChannel\",\"id\":" + i + "}");
        }
    };

    final String path;
    /** A field name of the protocol's frames, for nesting frames within themselves. */
    final String field;
    private final Set<Integer> badInputCloses;
    final List<String> validFrames;

    WsSurface(String path, String field, Set<Integer> badInputCloses, List<String> validFrames) {
        this.path = path;
        this.field = field;
        this.badInputCloses = badInputCloses;
        this.validFrames = validFrames;
    }

    /** A connection ready for client frames (welcome read, Socket.IO namespace connected). */
    abstract RawWebSocket open(int port, String token);

    /** A frame the server answers with a frame {@link #isProbeAnswer} recognises, on a usable connection. */
    abstract String probe(int n);

    abstract boolean isProbeAnswer(String frame, int n);

    /** The {@code i}-th join of a flood. */
    abstract String join(int i);

    /** Whether the server may end the connection with {@code code} after the client sent {@code input}. */
    boolean mayClose(String input, int code) {
        return badInputCloses.contains(code);
    }

    /** Frames the server sends on its own (keepalives), which tell nothing about the input. */
    static boolean isKeepalive(String frame) {
        return frame.equals("2") || frame.startsWith("{\"type\":\"ping\"");
    }

    private static String subscribe(String identifier) {
        return "{\"command\":\"subscribe\",\"identifier\":" + Json.quote(identifier) + "}";
    }

    private static RawWebSocket upgraded(RawWebSocket ws) {
        if (ws.status() != 101) throw new AssertionError("upgrade refused: " + ws.status());
        return ws;
    }

    private static void expect(RawWebSocket ws, String prefix) {
        while (true) {
            RawWebSocket.Frame f = ws.next(15_000);
            if (f.opcode() == RawWebSocket.TEXT && isKeepalive(f.text())) continue;
            if (f.opcode() != RawWebSocket.TEXT || !f.text().startsWith(prefix)) throw new AssertionError("expected " + prefix + "…, got " + f);
            return;
        }
    }
}
