package io.tidings.server.guard;

import io.tidings.server.metrics.Metrics;

import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Logger;

/**
 * Per-client-address abuse limits, checked before a WebSocket upgrade (refused with HTTP 429):
 * <ul>
 *   <li>connection rate: a token bucket of {@code connectBurstPerIp} refilled at
 *       {@code connectRatePerIpPerSecond};</li>
 *   <li>concurrent connections: at most {@code maxConnectionsPerIp} open at once;</li>
 *   <li>failed authentication: {@code maxAuthFailuresPerIp} failures (invalid credentials, or
 *       credentials the webhook denied; not missing or expired ones) within
 *       {@code authFailureWindowMs} block the address for {@code authFailureBlockMs}, for
 *       WebSockets and the HTTP API alike.</li>
 * </ul>
 * Each limit is off when 0. Addresses in {@code limitExemptCidrs} are never limited. State is kept
 * per address while it matters and swept by the maintenance thread; at most {@link #MAX_TRACKED}
 * addresses are tracked: beyond that new addresses are refused ({@code capacity}) until the sweep
 * frees room, so a spread-out flood cannot grow memory without bound.
 *
 * <p>Thread-safe: a concurrent map of entries, each guarded by itself.
 */
public final class ConnectionLimits {
    private static final Logger LOG = Logger.getLogger(ConnectionLimits.class.getName());
    public static final int MAX_TRACKED = 100_000;

    /** Why an upgrade is refused; the {@code reason} label of {@code tidings_connections_refused_total}. */
    public enum Refusal {
        RATE("too many connection attempts from your address; retry later"),
        CONCURRENT("too many open connections from your address"),
        BLOCKED("too many failed authentication attempts from your address; retry later"),
        CAPACITY("too many clients; retry later");

        public final String message;

        Refusal(String message) {
            this.message = message;
        }

        public String label() {
            return name().toLowerCase();
        }
    }

    public record Settings(int maxConnectionsPerIp, double connectRatePerIpPerSecond, int connectBurstPerIp,
                           int maxAuthFailuresPerIp, long authFailureWindowMs, long authFailureBlockMs, Cidrs exempt) {
    }

    /** An admitted connection's place in its address's count; release it when the connection ends (idempotent). */
    public static final class Slot {
        static final Slot NONE = new Slot(null);
        private final Entry entry;
        private final AtomicBoolean released = new AtomicBoolean();

        private Slot(Entry entry) {
            this.entry = entry;
        }

        public void release() {
            if (entry == null || !released.compareAndSet(false, true)) return;
            synchronized (entry) {
                entry.open--;
                entry.lastUsedNanos = System.nanoTime();
            }
        }
    }

    /** The outcome of {@link #admit}: a slot, or a refusal with how long to wait. */
    public record Admission(Slot slot, Refusal refusal, long retryAfterSeconds) {
    }

    private static final class Entry {
        int open;
        double tokens;
        long refilledNanos;
        int failures;
        long windowStartNanos;
        long blockedUntilNanos;
        long lastUsedNanos;
        boolean swept; // removed from the map: callers holding it must look again
    }

    private final Settings s;
    private final Metrics metrics;
    private final Map<String, Entry> entries = new ConcurrentHashMap<>();

    public ConnectionLimits(Settings settings, Metrics metrics) {
        this.s = settings;
        this.metrics = metrics;
        metrics.bindTrackedAddresses(entries::size);
    }

    private boolean exempt(String ip) {
        return s.exempt().contains(ip);
    }

    /** Takes a connection slot for {@code ip}, or says why not. */
    public Admission admit(String ip) {
        if (exempt(ip)) return new Admission(Slot.NONE, null, 0);
        if (s.maxConnectionsPerIp() <= 0 && s.connectRatePerIpPerSecond() <= 0) { // nothing to count per connection
            long blocked = blockedSeconds(ip);
            return blocked > 0 ? new Admission(null, Refusal.BLOCKED, blocked) : new Admission(Slot.NONE, null, 0);
        }
        long now = System.nanoTime();
        Entry e = entry(ip, now);
        if (e == null) return new Admission(null, Refusal.CAPACITY, 1);
        synchronized (e) {
            if (e.swept) return admit(ip);
            e.lastUsedNanos = now;
            if (e.blockedUntilNanos - now > 0) {
                return new Admission(null, Refusal.BLOCKED, Math.max(1, TimeUnit.NANOSECONDS.toSeconds(e.blockedUntilNanos - now)));
            }
            if (s.maxConnectionsPerIp() > 0 && e.open >= s.maxConnectionsPerIp()) return new Admission(null, Refusal.CONCURRENT, 5);
            if (s.connectRatePerIpPerSecond() > 0) {
                double elapsed = (now - e.refilledNanos) / 1e9;
                e.tokens = Math.min(s.connectBurstPerIp(), e.tokens + elapsed * s.connectRatePerIpPerSecond());
                e.refilledNanos = now;
                if (e.tokens < 1) {
                    return new Admission(null, Refusal.RATE, Math.max(1, (long) Math.ceil((1 - e.tokens) / s.connectRatePerIpPerSecond())));
                }
                e.tokens -= 1;
            }
            e.open++;
            return new Admission(new Slot(e), null, 0);
        }
    }

    /** Seconds {@code ip} remains blocked for failed authentications (0: not blocked). For the HTTP API. */
    public long blockedSeconds(String ip) {
        if (s.maxAuthFailuresPerIp() <= 0) return 0;
        Entry e = entries.get(ip); // before the exemption check: most addresses have no entry, and parsing a literal costs more
        if (e == null || exempt(ip)) return 0;
        long now = System.nanoTime();
        synchronized (e) {
            long left = e.blockedUntilNanos - now;
            return left > 0 ? Math.max(1, TimeUnit.NANOSECONDS.toSeconds(left)) : 0;
        }
    }

    /** A failed authentication from {@code ip} (invalid or denied credentials). */
    public void authFailed(String ip) {
        if (s.maxAuthFailuresPerIp() <= 0 || exempt(ip)) return;
        long now = System.nanoTime();
        Entry e = entry(ip, now);
        if (e == null) return;
        synchronized (e) {
            if (e.swept) {
                authFailed(ip);
                return;
            }
            e.lastUsedNanos = now;
            if (now - e.windowStartNanos > TimeUnit.MILLISECONDS.toNanos(s.authFailureWindowMs()) || e.failures == 0) {
                e.windowStartNanos = now;
                e.failures = 0;
            }
            if (++e.failures >= s.maxAuthFailuresPerIp()) {
                e.failures = 0;
                e.blockedUntilNanos = now + TimeUnit.MILLISECONDS.toNanos(s.authFailureBlockMs());
                metrics.addressBlocked();
                LOG.info("blocking " + ip + " for " + s.authFailureBlockMs() + " ms after " + s.maxAuthFailuresPerIp()
                        + " failed authentications within " + s.authFailureWindowMs() + " ms");
            }
        }
    }

    private Entry entry(String ip, long now) {
        Entry e = entries.get(ip);
        if (e != null) return e;
        if (entries.size() >= MAX_TRACKED) return null;
        return entries.computeIfAbsent(ip, k -> {
            Entry n = new Entry();
            n.tokens = s.connectBurstPerIp();
            n.refilledNanos = now;
            n.lastUsedNanos = now;
            return n;
        });
    }

    /** Forgets addresses with nothing to remember (no open connection, idle past every window). Maintenance thread. */
    public void sweep() {
        long now = System.nanoTime();
        long idle = TimeUnit.MILLISECONDS.toNanos(Math.max(s.authFailureWindowMs(), 1_000));
        if (s.connectRatePerIpPerSecond() > 0) idle = Math.max(idle, (long) (s.connectBurstPerIp() / s.connectRatePerIpPerSecond() * 1e9));
        for (Iterator<Map.Entry<String, Entry>> it = entries.entrySet().iterator(); it.hasNext(); ) {
            Entry e = it.next().getValue();
            synchronized (e) {
                if (e.open == 0 && now - e.lastUsedNanos > idle && e.blockedUntilNanos - now <= 0) {
                    e.swept = true;
                    it.remove();
                }
            }
        }
    }

    /** Addresses currently tracked. */
    public int tracked() {
        return entries.size();
    }
}
