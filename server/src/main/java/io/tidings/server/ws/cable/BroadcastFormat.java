package io.tidings.server.ws.cable;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import io.tidings.server.http.ApiError;
import io.tidings.server.http.Json;
import io.tidings.server.http.PublishFormat;
import io.tidings.server.http.PublishParser;
import io.tidings.storage.Appended;
import io.tidings.storage.NewEvent;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The body AnyCable's HTTP broadcaster sends (the {@code anycable} gem's {@code http} broadcast
 * adapter, which Rails' {@code ActionCable.server.broadcast} uses under AnyCable): one publication
 * {@code {"stream":"…","data":"<JSON text>","meta":{…}}} or a JSON array of them (the gem's batching).
 * Each stream goes to the room {@link ChannelRoutes#streamRoute} gives; {@code data} is the event's
 * data, which must be JSON (what ActionCable clients receive as {@code message}); {@code meta} is
 * accepted and ignored. Every publication is checked before anything is appended: one bad entry
 * refuses the whole body (422, nothing appended). A committed body is answered 201, as AnyCable
 * does, with the offsets.
 *
 * <p>Immutable and thread-safe.
 */
public final class BroadcastFormat implements PublishFormat {
    /** Type of the events a broadcast appends. */
    public static final String TYPE = "broadcast";

    private final ChannelRoutes routes;
    private final int maxEventBytes;
    private final int maxBatchEvents;

    public BroadcastFormat(ChannelRoutes routes, int maxEventBytes, int maxBatchEvents) {
        this.routes = routes;
        this.maxEventBytes = maxEventBytes;
        this.maxBatchEvents = maxBatchEvents;
    }

    @Override
    public Batch parse(byte[] body) throws ApiError {
        JsonNode root;
        try {
            root = Json.MAPPER.readTree(body);
        } catch (IOException e) {
            throw unprocessable("malformed JSON: " + e.getMessage().lines().findFirst().orElse(""));
        }
        if (root == null || root.isMissingNode()) throw unprocessable("empty body");
        boolean single = root.isObject();
        if (!single && !root.isArray()) throw unprocessable("expected a publication {\"stream\":…,\"data\":…} or an array of them");
        if (root.size() > maxBatchEvents) throw new ApiError(413, "too_large", "more than " + maxBatchEvents + " publications in one request");
        List<NewEvent> events = new ArrayList<>();
        if (single) events.add(publication(root, -1));
        else for (int i = 0; i < root.size(); i++) events.add(publication(root.get(i), i));
        if (events.isEmpty()) throw unprocessable("no publications in the body");
        return new Batch(events, single);
    }

    private NewEvent publication(JsonNode p, int n) throws ApiError {
        String where = n < 0 ? "" : "publication " + n + ": ";
        if (!p.isObject()) throw unprocessable(where + "is not a JSON object");
        if (p.has("command")) {
            throw unprocessable(where + "broadcast commands (\"command\":" + p.get("command") + ") are not supported, only publications");
        }
        JsonNode stream = p.get("stream"), data = p.get("data"), meta = p.get("meta");
        if (stream == null || !stream.isTextual() || stream.asText().isEmpty()) throw unprocessable(where + "stream must be a non-empty string");
        if (data == null || !data.isTextual()) throw unprocessable(where + "data must be a string (JSON text)");
        if (meta != null && !meta.isObject() && !meta.isNull()) throw unprocessable(where + "meta must be an object");
        ChannelRoutes.Route route = routes.streamRoute(stream.asText());
        if (route.rejected()) throw new ApiError(422, "unknown_stream", where + route.rejection());
        byte[] bytes = data.asText().getBytes(StandardCharsets.UTF_8);
        if (bytes.length > maxEventBytes) {
            throw new ApiError(413, "too_large", where + "data is " + bytes.length + " bytes; the limit is " + maxEventBytes);
        }
        String problem = jsonProblem(bytes);
        if (problem != null) throw unprocessable(where + "data is not JSON text: " + problem);
        return new NewEvent(List.of(route.room()), TYPE, bytes, null);
    }

    /** Why {@code bytes} is not exactly one JSON value, or null. */
    private static String jsonProblem(byte[] bytes) {
        try (JsonParser p = Json.MAPPER.getFactory().createParser(bytes)) {
            if (p.nextToken() == null) return "empty";
            p.skipChildren();
            if (p.nextToken() != null) return "more than one JSON value";
            return null;
        } catch (IOException e) {
            return e.getMessage().lines().findFirst().orElse("");
        }
    }

    private static ApiError unprocessable(String message) {
        return new ApiError(422, "unprocessable", message);
    }

    @Override
    public int status() {
        return 201;
    }

    /** As {@code /v1/events} answers a batch: the gem only looks at the status; the offsets are for other callers. */
    @Override
    public String answer(Batch batch, List<Appended> appended) {
        return PublishParser.answer(appended, false);
    }
}
