package io.tidings.server.guard;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * A list of address ranges ({@code 10.0.0.0/8}, {@code ::1/128}, or a single address), matched
 * against IP literals. Nothing here ever resolves a host name. Immutable and thread-safe.
 */
public final class Cidrs {
    public static final Cidrs NONE = new Cidrs(List.of());

    private static final Pattern IPV6 = Pattern.compile("[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*");

    private record Range(byte[] network, int bits) {
        boolean contains(byte[] address) {
            if (address.length != network.length) return false;
            int full = bits / 8, rest = bits % 8;
            for (int i = 0; i < full; i++) if (address[i] != network[i]) return false;
            if (rest == 0) return true;
            int mask = 0xff << (8 - rest) & 0xff;
            return (address[full] & mask) == (network[full] & mask);
        }
    }

    private final List<Range> ranges;

    /** @throws IllegalArgumentException naming the bad entry */
    public Cidrs(List<String> entries) {
        List<Range> list = new ArrayList<>();
        for (String entry : entries) {
            String e = entry.trim();
            int slash = e.indexOf('/');
            byte[] network = literal(slash < 0 ? e : e.substring(0, slash));
            if (network == null) throw new IllegalArgumentException("not an IP address or CIDR range: " + entry);
            int bits = network.length * 8;
            if (slash >= 0) {
                try {
                    bits = Integer.parseInt(e.substring(slash + 1));
                } catch (NumberFormatException x) {
                    throw new IllegalArgumentException("bad prefix length in " + entry);
                }
                if (bits < 0 || bits > network.length * 8) throw new IllegalArgumentException("bad prefix length in " + entry);
            }
            list.add(new Range(network, bits));
        }
        this.ranges = List.copyOf(list);
    }

    /** True if {@code ip} (a literal) lies in one of the ranges; false for anything that is not an IP literal. */
    public boolean contains(String ip) {
        if (ranges.isEmpty() || ip == null) return false;
        byte[] a = literal(ip);
        if (a == null) return false;
        for (Range r : ranges) if (r.contains(a)) return true;
        return false;
    }

    public boolean isEmpty() {
        return ranges.isEmpty();
    }

    /** The bytes of an IPv4 or IPv6 literal (IPv4-mapped IPv6 as IPv4), or null; never a DNS lookup. */
    static byte[] literal(String s) {
        if (s == null) return null;
        String t = s.startsWith("[") && s.endsWith("]") ? s.substring(1, s.length() - 1) : s;
        int zone = t.indexOf('%');
        if (zone >= 0) t = t.substring(0, zone);
        if (t.indexOf(':') < 0) return ipv4(t);
        if (!IPV6.matcher(t).matches()) return null;
        try {
            return InetAddress.getByName(t).getAddress(); // a literal: parsed, not resolved
        } catch (UnknownHostException | IllegalArgumentException e) {
            return null;
        }
    }

    /** True if {@code s} is an IPv4 or IPv6 literal. */
    public static boolean isIpLiteral(String s) {
        return literal(s) != null;
    }

    /**
     * The four bytes of a dotted-quad literal ({@code 1} to {@code 3} digits, each part ≤ 255), or null.
     * Parsed by hand: it runs for every API request's address, and {@code InetAddress} would look up
     * a name like {@code 300.1.1.1} in DNS.
     */
    private static byte[] ipv4(String t) {
        byte[] out = new byte[4];
        int part = 0, value = 0, digits = 0;
        for (int i = 0; i <= t.length(); i++) {
            char c = i < t.length() ? t.charAt(i) : '.';
            if (c >= '0' && c <= '9') {
                if (++digits > 3) return null;
                value = value * 10 + (c - '0');
            } else if (c == '.') {
                if (digits == 0 || value > 255 || part == 4) return null;
                out[part++] = (byte) value;
                value = 0;
                digits = 0;
            } else {
                return null;
            }
        }
        return part == 4 ? out : null;
    }
}
