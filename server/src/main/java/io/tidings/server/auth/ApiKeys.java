package io.tidings.server.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;

/**
 * Keys for the HTTP API: publish keys may append, audit keys may replay. Compared in constant time.
 * Thread-safe (immutable).
 */
public final class ApiKeys {
    public enum Scope { PUBLISH, AUDIT }

    private final List<byte[]> publish;
    private final List<byte[]> audit;

    public ApiKeys(List<String> publishKeys, List<String> auditKeys) {
        this.publish = publishKeys.stream().map(k -> k.getBytes(StandardCharsets.UTF_8)).toList();
        this.audit = auditKeys.stream().map(k -> k.getBytes(StandardCharsets.UTF_8)).toList();
    }

    /** True if {@code key} is one of the keys of {@code scope}. */
    public boolean allows(String key, Scope scope) {
        return key != null && matches(key, scope == Scope.PUBLISH ? publish : audit);
    }

    /** True if {@code key} is any configured key (to tell 403 from 401). */
    public boolean known(String key) {
        return key != null && (matches(key, publish) || matches(key, audit));
    }

    private static boolean matches(String key, List<byte[]> keys) {
        byte[] k = key.getBytes(StandardCharsets.UTF_8);
        boolean found = false;
        for (byte[] candidate : keys) found |= MessageDigest.isEqual(k, candidate);
        return found;
    }
}
