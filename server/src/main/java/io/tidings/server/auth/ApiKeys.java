package io.tidings.server.auth;

import io.tidings.server.hub.Rooms;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.logging.Logger;

/**
 * Keys for the HTTP API (setting {@code apiKeys}, plus the unrestricted {@code publishKeys} and
 * {@code auditKeys}): each named, allowed to publish and/or audit, and limited to room prefixes
 * (none = every room). A presented key is compared with every configured key in constant time.
 * Immutable and thread-safe; a config reload builds a new instance.
 */
public final class ApiKeys {
    /** Shortest accepted key: guessing must be hopeless. */
    public static final int MIN_KEY_LENGTH = 16;
    private static final Logger LOG = Logger.getLogger(ApiKeys.class.getName());

    public enum Scope { PUBLISH, AUDIT }

    /**
     * One key.
     *
     * @param name   shown in logs and metrics, never the key itself
     * @param rooms  room prefixes the key is limited to; empty = every room
     */
    public record ApiKey(String name, byte[] secret, Set<Scope> scopes, List<String> rooms) {
        public ApiKey {
            scopes = Set.copyOf(scopes);
            rooms = List.copyOf(rooms);
        }

        public boolean allows(Scope scope) {
            return scopes.contains(scope);
        }

        /** True if the key may see or write {@code room} (it lies within one of its prefixes). */
        public boolean allowsRoom(String room) {
            if (rooms.isEmpty()) return true;
            for (String prefix : rooms) if (Rooms.within(room, prefix)) return true;
            return false;
        }

        /** True if any of {@code eventRooms} is within the key's prefixes. */
        public boolean allowsAny(List<String> eventRooms) {
            for (String r : eventRooms) if (allowsRoom(r)) return true;
            return false;
        }

        public boolean restricted() {
            return !rooms.isEmpty();
        }

        @Override
        public String toString() {
            return "ApiKey[" + name + ", " + scopes + (rooms.isEmpty() ? ", all rooms" : ", rooms " + rooms) + "]";
        }
    }

    /** A key as configured (YAML {@code apiKeys} entry). */
    public record Spec(String name, String key, List<Scope> scopes, List<String> rooms) {
    }

    private final List<ApiKey> keys;

    /**
     * @param specs       the named keys ({@code apiKeys}); a key shorter than {@link #MIN_KEY_LENGTH} is an error
     * @param publishKeys unrestricted publish keys ({@code publishKeys}; short keys are accepted, with a warning)
     * @param auditKeys   unrestricted audit keys; a key in both lists gets both scopes
     * @throws IllegalArgumentException naming the bad entry (never showing a key)
     */
    public ApiKeys(List<Spec> specs, List<String> publishKeys, List<String> auditKeys) {
        List<ApiKey> list = new ArrayList<>();
        Set<String> names = new HashSet<>();
        Set<String> secrets = new HashSet<>();
        for (int i = 0; i < publishKeys.size() + auditKeys.size(); i++) {
            boolean publish = i < publishKeys.size();
            String key = publish ? publishKeys.get(i) : auditKeys.get(i - publishKeys.size());
            String name = publish ? "publishKeys[" + i + "]" : "auditKeys[" + (i - publishKeys.size()) + "]";
            if (key == null || key.isEmpty()) throw new IllegalArgumentException(name + ": empty key");
            if (!secrets.add(key)) {
                if (publish || !publishKeys.contains(key)) throw new IllegalArgumentException(name + ": the same key is configured twice");
                int at = publishKeys.indexOf(key); // in both lists: one key with both scopes
                ApiKey p = list.get(at);
                list.set(at, new ApiKey(p.name(), p.secret(), EnumSet.allOf(Scope.class), List.of()));
                continue;
            }
            if (key.length() < MIN_KEY_LENGTH) {
                LOG.warning(name + " is shorter than " + MIN_KEY_LENGTH + " characters: use long random keys");
            }
            list.add(new ApiKey(name, key.getBytes(StandardCharsets.UTF_8), EnumSet.of(publish ? Scope.PUBLISH : Scope.AUDIT), List.of()));
            names.add(name);
        }
        for (int i = 0; i < specs.size(); i++) {
            Spec s = specs.get(i);
            String where = "apiKeys[" + i + "]" + (s.name() == null ? "" : " (" + s.name() + ")");
            if (s.name() == null || s.name().isBlank()) throw new IllegalArgumentException(where + ": name is missing");
            if (!names.add(s.name())) throw new IllegalArgumentException(where + ": name used twice");
            if (s.key() == null || s.key().length() < MIN_KEY_LENGTH) {
                throw new IllegalArgumentException(where + ": key must be at least " + MIN_KEY_LENGTH + " characters");
            }
            if (!secrets.add(s.key())) throw new IllegalArgumentException(where + ": the same key is configured twice");
            if (s.scopes() == null || s.scopes().isEmpty()) throw new IllegalArgumentException(where + ": scopes must name publish and/or audit");
            List<String> rooms = s.rooms() == null ? List.of() : s.rooms();
            for (String room : rooms) {
                String problem = Rooms.problem(room);
                if (problem != null) throw new IllegalArgumentException(where + ": rooms: " + problem);
            }
            list.add(new ApiKey(s.name(), s.key().getBytes(StandardCharsets.UTF_8), EnumSet.copyOf(s.scopes()), rooms));
        }
        this.keys = List.copyOf(list);
    }

    /** Only unrestricted publish and audit keys (named {@code publishKeys[i]}, {@code auditKeys[i]}). */
    public ApiKeys(List<String> publishKeys, List<String> auditKeys) {
        this(List.of(), publishKeys, auditKeys);
    }

    /** The configured key equal to {@code presented}, or null. Every key is compared, in constant time each. */
    public ApiKey find(String presented) {
        if (presented == null) return null;
        byte[] p = presented.getBytes(StandardCharsets.UTF_8);
        ApiKey found = null;
        for (ApiKey k : keys) {
            if (MessageDigest.isEqual(p, k.secret()) && found == null) found = k;
        }
        return found;
    }

    /** True if {@code key} is a configured key with {@code scope}. */
    public boolean allows(String key, Scope scope) {
        ApiKey k = find(key);
        return k != null && k.allows(scope);
    }

    /** True if some key has {@code scope}. */
    public boolean any(Scope scope) {
        return keys.stream().anyMatch(k -> k.allows(scope));
    }

    public List<ApiKey> keys() {
        return keys;
    }

    public int size() {
        return keys.size();
    }
}
