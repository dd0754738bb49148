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

    /** @throws IllegalArgumentException naming the bad entry if a template cannot produce a valid room */
    public ChannelRoutes(Map<String, String> templates) {
        for (Map.Entry<String, String> e : templates.entrySet()) {
            String channel = e.getKey();
            if (channel == null || channel.isBlank()) throw new IllegalArgumentException("cableChannels: empty channel name");
            Template t = parse(channel, e.getValue());
            byChannel.put(channel, t);
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
            String value = v.asText();
            String problem = segmentProblem(value);
            if (problem != null) return Route.reject(channel + "." + name + " " + problem);
            values.add(value);
        }
        String room = fill(t, values);
        String problem = Rooms.problem(room);
        if (problem != null) return Route.reject(problem);
        return new Route(room, null);
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
