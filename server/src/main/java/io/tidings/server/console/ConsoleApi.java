package io.tidings.server.console;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tidings.server.auth.ApiKeys;
import io.tidings.server.http.ApiAuth;
import io.tidings.server.http.ApiError;
import io.tidings.server.http.Json;
import io.tidings.server.hub.CloseReason;
import io.tidings.server.hub.Hub;
import io.tidings.server.hub.Session;
import io.tidings.server.hub.SessionView;
import io.tidings.server.metrics.Metrics;
import io.tidings.storage.EventLog;
import io.tidings.storage.TailRepair;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;
import io.undertow.util.Methods;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.logging.Logger;

/**
 * The console's JSON endpoints (docs/protocol.md, "Console"), each behind an audit key:
 * {@code whoami}, {@code overview} (the figures of /metrics, read from the same meters),
 * {@code connections} (searched and paged here, so the page gets one page of a large gateway) and
 * {@code disconnect}. A key limited to room prefixes sees only sessions in its rooms, and only
 * those rooms of each.
 *
 * <p>Thread safety: stateless; called on worker threads.
 */
public final class ConsoleApi {
    private static final Logger LOG = Logger.getLogger(ConsoleApi.class.getName());
    static final int MAX_PAGE = 200;

    private final EventLog log;
    private final Hub hub;
    private final Metrics metrics;
    private final ApiAuth auth;
    private final Map<String, Object> settings;

    /** @param settings retention and limits to show as they are configured */
    public ConsoleApi(EventLog log, Hub hub, Metrics metrics, ApiAuth auth, Map<String, Object> settings) {
        this.log = log;
        this.hub = hub;
        this.metrics = metrics;
        this.auth = auth;
        this.settings = Map.copyOf(settings);
    }

    void handle(String endpoint, HttpServerExchange exchange) {
        try {
            ApiKeys.ApiKey key = auth.require(exchange, ApiKeys.Scope.AUDIT);
            boolean post = exchange.getRequestMethod().equals(Methods.POST);
            ObjectNode body = switch (endpoint) {
                case "whoami" -> whoami(key);
                case "overview" -> overview();
                case "connections" -> connections(key, exchange.getQueryParameters());
                case "disconnect" -> {
                    if (!post) throw new ApiError(405, "method_not_allowed", "use POST");
                    yield disconnect(key, exchange.getQueryParameters());
                }
                default -> throw new ApiError(404, "not_found", "no console endpoint " + endpoint);
            };
            exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, "application/json");
            exchange.getResponseSender().send(body.toString());
        } catch (ApiError e) {
            e.send(exchange);
        }
    }

    private static ObjectNode whoami(ApiKeys.ApiKey key) {
        ObjectNode o = Json.MAPPER.createObjectNode().put("name", key.name());
        ArrayNode scopes = o.putArray("scopes");
        for (ApiKeys.Scope s : ApiKeys.Scope.values()) if (key.allows(s)) scopes.add(s.name().toLowerCase(Locale.ROOT));
        ArrayNode rooms = o.putArray("rooms");
        key.rooms().forEach(rooms::add);
        return o;
    }

    /** Gateway-wide figures (no room names): the values of the /metrics series named in docs/protocol.md. */
    private ObjectNode overview() {
        ObjectNode o = Json.MAPPER.createObjectNode()
                .put("node", "this gateway")
                .put("epoch", log.epoch())
                .put("head", log.head().toString())
                .put("timeMillis", System.currentTimeMillis());
        ObjectNode m = o.putObject("metrics");
        for (String name : List.of("tidings_log_head_offset", "tidings_log_first_offset", "tidings_log_first_event_timestamp_seconds",
                "tidings_log_head_event_timestamp_seconds", "tidings_log_events", "tidings_log_bytes", "tidings_log_files",
                "tidings_log_disk_free_bytes", "tidings_log_disk_min_free_bytes", "tidings_log_retention_max_bytes",
                "tidings_log_retention_max_age_seconds", "tidings_log_tail_dropped_records", "tidings_log_writable",
                "tidings_sessions_catching_up", "tidings_subscriptions", "tidings_slow_client_disconnects_total",
                "tidings_deliveries_total", "tidings_replayed_events_total")) {
            m.put(name, metrics.sum(name));
        }
        m.put("tidings_log_appended_events_total{outcome=\"committed\"}",
                metrics.sumBy("tidings_log_appended_events_total", "outcome").getOrDefault("committed", 0.0));
        ObjectNode conns = o.putObject("connections");
        metrics.sumBy("tidings_connections", "protocol").forEach(conns::put);
        TailRepair repair = log.tailRepair();
        o.put("tailRepair", repair == null ? null : repair.describe());
        ObjectNode s = o.putObject("settings");
        settings.forEach((k, v) -> s.put(k, String.valueOf(v)));
        return o;
    }

    private ObjectNode connections(ApiKeys.ApiKey key, Map<String, Deque<String>> q) throws ApiError {
        String search = param(q, "q").toLowerCase(Locale.ROOT);
        int size = (int) Math.min(MAX_PAGE, number(q, "size", 50));
        long page = number(q, "page", 0);
        long head = log.head().index();
        List<SessionView> matching = new ArrayList<>();
        for (Session session : hub.sessions()) {
            SessionView v = visible(key, session.view());
            if (v != null && matches(v, search)) matching.add(v);
        }
        matching.sort(Comparator.comparingLong(SessionView::id));
        ObjectNode o = Json.MAPPER.createObjectNode().put("total", matching.size()).put("page", page).put("size", size)
                .put("head", head);
        ArrayNode rows = o.putArray("connections");
        long from = Math.min(page * size, matching.size());
        for (SessionView v : matching.subList((int) from, (int) Math.min(from + size, matching.size()))) {
            ObjectNode r = rows.addObject().put("id", v.id()).put("protocol", v.protocol()).put("sub", v.subject())
                    .put("address", v.address()).put("connectedSince", Instant.ofEpochMilli(v.connectedAtMillis()).toString())
                    .put("lag", v.lag(head)).put("queuedBytes", v.queuedBytes());
            ArrayNode rooms = r.putArray("rooms");
            v.rooms().forEach(rooms::add);
        }
        return o;
    }

    private ObjectNode disconnect(ApiKeys.ApiKey key, Map<String, Deque<String>> q) throws ApiError {
        long id = number(q, "id", -1);
        String reason = param(q, "reason");
        if (reason.isBlank()) throw ApiError.badRequest("give a reason (it is logged and sent to the client)");
        if (reason.length() > 100) throw ApiError.badRequest("reason: at most 100 characters");
        for (Session session : hub.sessions()) {
            SessionView v = session.view();
            if (v.id() != id) continue;
            if (visible(key, v) == null) break;
            LOG.warning("console: key '" + key.name() + "' disconnected session " + id + " (" + v.protocol() + ", sub "
                    + v.subject() + ", " + v.address() + "): " + reason);
            session.disconnect(new CloseReason(CloseReason.Kind.GOING_AWAY, "disconnected by an operator: " + reason
                    + "; reconnect and resume"));
            return Json.MAPPER.createObjectNode().put("disconnected", id);
        }
        throw new ApiError(404, "not_found", "no session " + id);
    }

    /** {@code v} as {@code key} may see it: only its rooms, or null if none of the session's rooms is in them. */
    private static SessionView visible(ApiKeys.ApiKey key, SessionView v) {
        if (!key.restricted()) return v;
        List<String> rooms = v.rooms().stream().filter(key::allowsRoom).toList();
        return rooms.isEmpty() ? null
                : new SessionView(v.id(), v.protocol(), v.subject(), v.address(), v.connectedAtMillis(), rooms, v.position(), v.queuedBytes());
    }

    private static boolean matches(SessionView v, String search) {
        if (search.isEmpty()) return true;
        if (v.subject().toLowerCase(Locale.ROOT).contains(search) || v.address().contains(search)
                || v.protocol().contains(search) || String.valueOf(v.id()).equals(search)) return true;
        for (String room : v.rooms()) if (room.toLowerCase(Locale.ROOT).contains(search)) return true;
        return false;
    }

    private static String param(Map<String, Deque<String>> q, String name) {
        Deque<String> v = q.get(name);
        return v == null || v.isEmpty() ? "" : v.getFirst();
    }

    private static long number(Map<String, Deque<String>> q, String name, long otherwise) throws ApiError {
        String s = param(q, name);
        if (s.isEmpty()) return otherwise;
        try {
            long n = Long.parseLong(s);
            if (n < 0) throw new NumberFormatException();
            return n;
        } catch (NumberFormatException e) {
            throw ApiError.badRequest(name + " must be a non-negative integer");
        }
    }
}
