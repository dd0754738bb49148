package io.tidings.server.cli;

import io.tidings.server.http.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * {@code tidings tail --room R [--after OFFSET]}: a terminal subscriber on the native protocol,
 * printing each frame as one NDJSON line on stdout (status on stderr). It asks for batched messages
 * ({@code batch=1}), so a long replay arrives in few messages; each line of a message is a frame.
 */
@Command(name = "tail", description = "Subscribe to a room and print events as NDJSON.")
public final class TailCommand implements Callable<Integer> {
    @Option(names = "--url", defaultValue = "ws://localhost:8080/v1/ws", description = "Gateway WebSocket URL.")
    String url;

    @Option(names = "--token", required = true, defaultValue = "${env:TIDINGS_TOKEN}",
            description = "Subscriber token (or TIDINGS_TOKEN); see 'tidings token'.")
    String token;

    @Option(names = "--room", required = true, description = "Room to join.")
    String room;

    @Option(names = "--after", description = "Resume after this offset (replay, then live).")
    String after;

    @Option(names = "--events-only", description = "Print only event frames.")
    boolean eventsOnly;

    @Override
    public Integer call() throws Exception {
        CompletableFuture<Integer> done = new CompletableFuture<>();
        URI uri = URI.create(url + (url.contains("?") ? "&" : "?") + "batch=1&token=" + URLEncoder.encode(token, StandardCharsets.UTF_8));
        WebSocket ws = HttpClient.newHttpClient().newWebSocketBuilder().buildAsync(uri, new WebSocket.Listener() {
            private final StringBuilder partial = new StringBuilder();

            @Override
            public CompletionStage<?> onText(WebSocket socket, CharSequence data, boolean last) {
                partial.append(data);
                if (last) {
                    for (String frame : partial.toString().split("\n")) frame(socket, frame);
                    partial.setLength(0);
                }
                socket.request(1);
                return null;
            }

            private void frame(WebSocket socket, String frame) {
                if (!eventsOnly || frame.startsWith("{\"op\":\"event\"")) System.out.println(frame);
                if (frame.startsWith("{\"op\":\"welcome\"")) {
                    socket.sendText("{\"op\":\"join\",\"room\":" + Json.quote(room)
                            + (after == null ? "" : ",\"after\":" + Json.quote(after)) + "}", true);
                }
            }

            @Override
            public CompletionStage<?> onClose(WebSocket socket, int status, String reason) {
                System.err.println("tidings tail: closed " + status + " " + reason);
                done.complete(status == 1000 || status == 1001 ? 0 : 1);
                return null;
            }

            @Override
            public void onError(WebSocket socket, Throwable error) {
                System.err.println("tidings tail: " + error);
                done.complete(1);
            }
        }).join();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye")));
        return done.get();
    }
}
