package io.tidings.server.ws.socketio;

import com.fasterxml.jackson.databind.JsonNode;
import io.tidings.server.hub.Rooms;

/**
 * The room contract of the 3D Repo "Notification" design, mapped onto Tidings rooms:
 * <ul>
 *   <li>{@code emit('join', {account})} → room {@code account} (receives every model's events);
 *       {@code emit('join', {account, model})} → room {@code account/model}.</li>
 *   <li>An event in room {@code account/model} reaches the client as
 *       {@code <account>::<model>::<type>}, one in room {@code account} as {@code <account>::<type>}.</li>
 *   <li>Deeper rooms ({@code account/model/more…}) are named like their model room: a Socket.IO client
 *       can only join teamspaces and models, and sees what happens below a model as that model's event.</li>
 *   <li>Nothing is special about {@code user/<sub>}: {@code {account:'user', model:'<sub>'}} joins it
 *       (always granted to its subject) and its events are named {@code user::<sub>::<type>}.</li>
 * </ul>
 * Stateless.
 */
final class RoomContract {
    private RoomContract() {}

    /** The room a {@code join}/{@code leave} argument names; IllegalArgumentException says what is wrong. */
    static String room(JsonNode arg) {
        if (arg == null || !arg.isObject()) throw new IllegalArgumentException("expected {account, model?}");
        String account = segment(arg.get("account"), "account", false);
        String model = segment(arg.get("model"), "model", true);
        String room = model == null ? account : account + "/" + model;
        String problem = Rooms.problem(room);
        if (problem != null) throw new IllegalArgumentException(problem);
        return room;
    }

    private static String segment(JsonNode v, String name, boolean optional) {
        if (v == null || v.isNull()) {
            if (optional) return null;
            throw new IllegalArgumentException(name + " is required");
        }
        if (!v.isTextual() || v.asText().isEmpty()) throw new IllegalArgumentException(name + " must be a non-empty string");
        if (v.asText().indexOf('/') >= 0) throw new IllegalArgumentException(name + " must not contain '/'");
        return v.asText();
    }

    /** The client-side event name of an event of {@code type} in {@code room}. */
    static String eventName(String room, String type) {
        int slash = room.indexOf('/');
        if (slash < 0) return room + "::" + type;
        int next = room.indexOf('/', slash + 1);
        String model = next < 0 ? room.substring(slash + 1) : room.substring(slash + 1, next);
        return room.substring(0, slash) + "::" + model + "::" + type;
    }

    /** {@code account} and, for a model room, {@code model}, as JSON members (for credentialError). */
    static String describe(String room) {
        int slash = room.indexOf('/');
        if (slash < 0) return "\"account\":" + io.tidings.server.http.Json.quote(room);
        return "\"account\":" + io.tidings.server.http.Json.quote(room.substring(0, slash))
                + ",\"model\":" + io.tidings.server.http.Json.quote(room.substring(slash + 1));
    }
}
