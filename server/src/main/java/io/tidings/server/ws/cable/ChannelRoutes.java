package io.tidings.server.ws.cable;

import com.fasterxml.jackson.databind.JsonNode;
import io.tidings.server.http.Json;
import io.tidings.server.hub.Rooms;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Which room an ActionCable channel streams (setting {@code cableChannels}): a map from channel name
 * to a room template. {@code {name}} in a template is replaced by the identifier parameter
 * {@code name} (a string or an integer), {@code {$sub}} by the subscriber's token subject:
 * <pre>
 *   NotificationsChannel: user/{$sub}      {"channel":"NotificationsChannel"}     → user/alice
 *   ProjectChannel:       projects/{id}    {"channel":"ProjectChannel","id":42}   → projects/42
 * </pre>
 * A parameter value must be a non-empty string or integer without {@code /}, whitespace or control
 * characters, so it fills exactly one room segment (the subject, signed by the token issuer, is used
 * as is, like the {@code user/<sub>} grant). Parameters the template does not name are
 * ignored. The resulting room must still be authorized (by the token's grants or the webhook).
 *
 * <p>The same templates route what a Rails app broadcasts ({@link #streamRoute}): Rails names a
 * channel's streams {@code <channel_name>:<param>:…} (its {@code broadcast_to}/{@code stream_for}),
 * where a record's param is its GlobalID, so {@code NotificationsChannel.broadcast_to(user23, …)}
 * broadcasts to {@code notifications:Z2lkOi8vbGVzc3kvVXNlci8yMw} ({@code gid://lessy/User/23}),
 * which goes to {@code user/23}: the placeholders take the stream's parts in order, a GlobalID
 * giving its record id.
 *
 * <p>Immutable and thread-safe.
 */
public final class ChannelRoutes {
    public static final String SUBJECT = "$sub";

    /** The room, or why the subscription is rejected. */
    public record Route(String room, String rejection) {
        static Route reject(String why) {
            return new Route(null, why);
        }

        public boolean rejected() {
            return room == null;
        }
    }

    /** A template split into literal text and placeholders. */
    private record Template(List<String> literals, List<String> names) {
    }

    private final Map<String, Template> byChannel = new LinkedHashMap<>();
    /** Rails broadcasting name of each channel (its stream prefix), in configuration order. */
    private final Map<String, String> broadcastings = new LinkedHashMap<>();

    /** @throws IllegalArgumentException naming the bad entry if a template cannot produce a valid room */
    public ChannelRoutes(Map<String, String> templates) {
        for (Map.Entry<String, String> e : templates.entrySet()) {
            String channel = e.getKey();
            if (channel == null || channel.isBlank()) throw new IllegalArgumentException("cableChannels: empty channel name");
            Template t = parse(channel, e.getValue());
            byChannel.put(channel, t);
            broadcastings.put(channel, broadcasting(channel));
            // a sample substitution must give a valid room
            List<String> sample = new ArrayList<>();
            for (int i = 0; i < t.names().size(); i++) sample.add("x");
            String problem = Rooms.problem(fill(t, sample));
            if (problem != null) throw new IllegalArgumentException("cableChannels." + channel + ": template '" + e.getValue() + "' gives a bad room: " + problem);
        }
    }

    private static Template parse(String channel, String template) {
        if (template == null || template.isEmpty()) throw new IllegalArgumentException("cableChannels." + channel + ": empty room template");
        List<String> literals = new ArrayList<>();
        List<String> names = new ArrayList<>();
        int i = 0;
        StringBuilder literal = new StringBuilder();
        while (i < template.length()) {
            char c = template.charAt(i);
            if (c == '{') {
                int close = template.indexOf('}', i);
                if (close < 0) throw new IllegalArgumentException("cableChannels." + channel + ": unclosed '{' in '" + template + "'");
                String name = template.substring(i + 1, close);
                if (name.isEmpty() || name.indexOf('{') >= 0) {
                    throw new IllegalArgumentException("cableChannels." + channel + ": bad placeholder in '" + template + "'");
                }
                literals.add(literal.toString());
                literal.setLength(0);
                names.add(name);
                i = close + 1;
            } else if (c == '}') {
                throw new IllegalArgumentException("cableChannels." + channel + ": unmatched '}' in '" + template + "'");
            } else {
                literal.append(c);
                i++;
            }
        }
        literals.add(literal.toString());
        return new Template(List.copyOf(literals), List.copyOf(names));
    }

    private static String fill(Template t, List<String> values) {
        StringBuilder room = new StringBuilder(t.literals().get(0));
        for (int i = 0; i < values.size(); i++) room.append(values.get(i)).append(t.literals().get(i + 1));
        return room.toString();
    }

    /** The room for a subscription with this (decoded) identifier of a client with this subject (not yet authorized). */
    public Route route(String identifier, String subject) {
        JsonNode id;
        try {
            id = Json.MAPPER.readTree(identifier);
        } catch (Exception e) {
            return Route.reject("identifier is not JSON");
        }
        if (id == null || !id.isObject() || !id.path("channel").isTextual()) return Route.reject("identifier has no channel");
        String channel = id.get("channel").asText();
        Template t = byChannel.get(channel);
        if (t == null) return Route.reject("unknown channel " + channel);
        List<String> values = new ArrayList<>(t.names().size());
        for (String name : t.names()) {
            if (name.equals(SUBJECT)) {
                values.add(subject); // signed by the token issuer: used as is, like the user/<sub> grant
                continue;
            }
            JsonNode v = id.get(name);
            if (v == null || !(v.isTextual() || v.isIntegralNumber())) return Route.reject(channel + " needs a string or integer " + name);
            values.add(v.asText());
        }
        return room(channel, t, values);
    }

    /**
     * The room a broadcast to this Rails stream goes to: the first channel (in configuration order)
     * whose broadcasting name prefixes the stream and whose template has one placeholder per
     * remaining {@code :}-separated part ({@code {$sub}} included). A part that is a GlobalID param
     * stands for its record id. Rejected if no channel matches.
     */
    public Route streamRoute(String stream) {
        for (Map.Entry<String, String> b : broadcastings.entrySet()) {
            Template t = byChannel.get(b.getKey());
            String prefix = b.getValue();
            List<String> values;
            if (t.names().isEmpty()) {
                if (!stream.equals(prefix)) continue;
                values = List.of();
            } else {
                if (!stream.startsWith(prefix + ":")) continue;
                String[] parts = stream.substring(prefix.length() + 1).split(":", -1);
                if (parts.length != t.names().size()) continue;
                values = new ArrayList<>(parts.length);
                for (String part : parts) values.add(globalIdRecord(part));
            }
            return room(b.getKey(), t, values);
        }
        return Route.reject("no channel in cableChannels broadcasts to stream " + stream + " (known prefixes: "
                + String.join(", ", broadcastings.values()) + ")");
    }

    private static Route room(String channel, Template t, List<String> values) {
        for (int i = 0; i < values.size(); i++) {
            if (t.names().get(i).equals(SUBJECT) && !values.get(i).isEmpty()) continue; // the subject may be anything the issuer signed
            String problem = segmentProblem(values.get(i));
            if (problem != null) return Route.reject(channel + "." + t.names().get(i) + " " + problem);
        }
        String room = fill(t, values);
        String problem = Rooms.problem(room);
        if (problem != null) return Route.reject(problem);
        return new Route(room, null);
    }

    /** Rails' stream prefix for a channel class name: {@code NotificationsChannel} → {@code notifications}, {@code Chat::RoomChannel} → {@code chat:room}. */
    static String broadcasting(String channel) {
        String name = channel.endsWith("Channel") ? channel.substring(0, channel.length() - "Channel".length()) : channel;
        name = name.replace("::", ":"); // then ActiveSupport's underscore
        name = name.replaceAll("([A-Z\\d]+)([A-Z][a-z])", "$1_$2").replaceAll("([a-z\\d])([A-Z])", "$1_$2");
        return name.replace('-', '_').toLowerCase(java.util.Locale.ROOT);
    }

    /** The record id of a GlobalID param (base64url of {@code gid://<app>/<Model>/<id>}), or the part itself. */
    static String globalIdRecord(String part) {
        try {
            String gid = new String(java.util.Base64.getUrlDecoder().decode(part), java.nio.charset.StandardCharsets.UTF_8);
            if (!gid.startsWith("gid://")) return part;
            String[] path = gid.substring("gid://".length()).split("/", -1);
            if (path.length != 3 || path[0].isEmpty() || path[1].isEmpty() || path[2].isEmpty()) return part;
            int query = path[2].indexOf('?'); // a GlobalID may carry ?params
            return java.net.URLDecoder.decode(query < 0 ? path[2] : path[2].substring(0, query), java.nio.charset.StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return part; // not base64url: a plain param (e.g. an id)
        }
    }

    private static String segmentProblem(String value) {
        if (value.isEmpty()) return "is empty";
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '/') return "contains '/'";
            if (c <= ' ' || c == 0x7f) return "contains whitespace or control characters";
        }
        return null;
    }
}
