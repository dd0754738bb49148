package io.tidings.server.http;

import io.tidings.server.hub.Rooms;
import io.tidings.storage.NewEvent;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * The usual publish body read in one pass over its bytes, without Jackson: a single object with
 * {@code room}, {@code type}, optionally {@code id}, and {@code data} an object or array, each field
 * once, every string ASCII, the names without escapes, and every value valid. Anything else, and
 * anything the Jackson path would refuse, makes {@link #read} return {@code null}, and
 * {@link PublishParser} parses the body with Jackson, which accepts it or names the problem as it
 * always did. So this reader accepts a subset of what the Jackson path accepts and builds the same
 * event ({@code PlainEventReaderTest} compares the two on valid, invalid and mutated bodies).
 *
 * <p>The JSON it accepts is RFC 8259's, which Jackson's defaults accept too; it gives up where
 * Jackson has a limit (nesting deeper than {@value #MAX_DEPTH} levels, numbers longer than
 * {@value #MAX_NUMBER_BYTES} bytes, strings longer than {@value #MAX_STRING_BYTES}) rather than
 * reproduce the limit.
 *
 * <p>Thread safety: an instance reads one body on one thread; {@link #read} makes its own.
 */
final class PlainEventReader {
    static final int MAX_DEPTH = 64;
    static final int MAX_NUMBER_BYTES = 1_000;
    static final int MAX_STRING_BYTES = 1 << 20;

    private final byte[] b;
    private int p;

    private PlainEventReader(byte[] body) {
        this.b = body;
    }

    /** The event of a plain single-object body, or {@code null}: then parse it with Jackson. */
    static NewEvent read(byte[] body, int maxEventBytes) {
        return new PlainEventReader(body).event(maxEventBytes);
    }

    private NewEvent event(int maxEventBytes) {
        String room = null, type = null, id = null;
        int dataFrom = -1, dataTo = -1;
        space();
        if (!take('{')) return null;
        space();
        do {
            space();
            int name = p + 1;
            if (!string(false)) return null;
            int nameLength = p - 1 - name;
            space();
            if (!take(':')) return null;
            space();
            if (named(name, nameLength, "data")) {
                if (dataFrom >= 0 || p >= b.length || (b[p] != '{' && b[p] != '[')) return null;
                dataFrom = p;
                if (!value(0)) return null;
                dataTo = p;
                if (dataTo - dataFrom > maxEventBytes) return null;
            } else {
                int from = p + 1;
                if (!string(false)) return null;
                String text = new String(b, from, p - 1 - from, StandardCharsets.ISO_8859_1);
                if (named(name, nameLength, "room")) {
                    if (room != null || Rooms.problem(text) != null) return null;
                    room = text;
                } else if (named(name, nameLength, "type")) {
                    if (type != null || text.isEmpty() || text.length() > PublishParser.MAX_TYPE_LENGTH) return null;
                    type = text; // ASCII without control characters: string() took none
                } else if (named(name, nameLength, "id")) {
                    if (id != null || text.isEmpty() || text.length() > PublishParser.MAX_ID_LENGTH) return null;
                    id = text;
                } else {
                    return null;
                }
            }
            space();
        } while (take(','));
        if (!take('}')) return null;
        space();
        if (p != b.length || room == null || type == null || dataFrom < 0) return null;
        return new NewEvent(List.of(room), type, Arrays.copyOfRange(b, dataFrom, dataTo), id);
    }

    private boolean named(int from, int length, String name) {
        if (length != name.length()) return false;
        for (int i = 0; i < length; i++) if (b[from + i] != name.charAt(i)) return false;
        return true;
    }

    /** A JSON value at {@code p}, nested {@code depth} deep; moves past it. */
    private boolean value(int depth) {
        if (p >= b.length) return false;
        switch (b[p]) {
            case '{': {
                if (depth == MAX_DEPTH) return false;
                p++;
                space();
                if (take('}')) return true;
                do {
                    space();
                    if (!string(true)) return false;
                    space();
                    if (!take(':')) return false;
                    space();
                    if (!value(depth + 1)) return false;
                    space();
                } while (take(','));
                return take('}');
            }
            case '[': {
                if (depth == MAX_DEPTH) return false;
                p++;
                space();
                if (take(']')) return true;
                do {
                    space();
                    if (!value(depth + 1)) return false;
                    space();
                } while (take(','));
                return take(']');
            }
            case '"':
                return string(true);
            case 't':
                return word("true");
            case 'f':
                return word("false");
            case 'n':
                return word("null");
            default:
                return number();
        }
    }

    /**
     * A string of printable ASCII at {@code p}, with JSON escapes only if {@code escapes}; moves past
     * its closing quote.
     */
    private boolean string(boolean escapes) {
        if (!take('"')) return false;
        int start = p;
        while (p < b.length && p - start <= MAX_STRING_BYTES) {
            byte c = b[p++];
            if (c == '"') return true;
            if (c < ' ') return false; // a control character, or (negative) a non-ASCII byte
            if (c == '\\') {
                if (!escapes || p >= b.length) return false;
                switch (b[p++]) {
                    case '"', '\\', '/', 'b', 'f', 'n', 'r', 't' -> { }
                    case 'u' -> {
                        for (int i = 0; i < 4; i++) if (p >= b.length || Character.digit(b[p++], 16) < 0) return false;
                    }
                    default -> {
                        return false;
                    }
                }
            }
        }
        return false;
    }

    /** {@code -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?} at {@code p}. */
    private boolean number() {
        int start = p;
        take('-');
        if (take('0')) {
            // no more integer digits after a leading zero
        } else if (!digits()) {
            return false;
        }
        if (take('.') && !digits()) return false;
        if (take('e') || take('E')) {
            if (!take('+')) take('-');
            if (!digits()) return false;
        }
        return p - start <= MAX_NUMBER_BYTES;
    }

    private boolean digits() {
        int start = p;
        while (p < b.length && b[p] >= '0' && b[p] <= '9') p++;
        return p > start;
    }

    private boolean word(String w) {
        for (int i = 0; i < w.length(); i++) if (!take(w.charAt(i))) return false;
        return true;
    }

    private boolean take(char c) {
        if (p < b.length && b[p] == c) {
            p++;
            return true;
        }
        return false;
    }

    private void space() {
        while (p < b.length && (b[p] == ' ' || b[p] == '\t' || b[p] == '\n' || b[p] == '\r')) p++;
    }
}
