package io.tidings.server.reliability;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ContainerNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.tidings.server.http.Json;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Bad input, made from a seeded {@link Random}: random bytes and strings, invalid UTF-8, deep
 * nesting, huge numbers, and mutations of valid frames — grammar-aware (a JSON value of the frame
 * replaced by one of another type, a field dropped, renamed or added, a string within the frame that
 * is itself JSON mutated too) and byte-level (truncation, deletion, insertion, duplication).
 *
 * <p>Not thread-safe: one generator per thread.
 */
final class FuzzInputs {
    /** Raw JSON tokens that parsers and the code after them often get wrong. */
    private static final List<String> NASTY_TOKENS = List.of(
            "1e999999", "-1e999999", "123456789012345678901234567890123456789", "-0", "0.0000000000000000000001",
            "9223372036854775808", "-9223372036854775809", "NaN", "Infinity", "1.", ".5", "01", "0x10", "\"\\u0000\"",
            "\"\\ud800\"", "\"\\udfff\\ud800\"", "\"\"", "\" \"", "\"../../etc\"", "\"a//b\"", "\"/\"", "\"user/\"",
            "\"\\u202e\"", "\"%00\"", "\"\u00e9\u4e2d\ud83d\ude00\"", "[]", "{}", "null", "true", "false", "[null]", "{\"\":{}}",
            "\"k3f9a2c1q0ab-2142041924435968\"", "\"-1\"", "\"x-99999999999999999999\"", "\"\\\"\"");
    private static final String JSON_CHARS = "{}[]\":,\\/0123456789-+eE.ntfalsrue ";
    private static final String SLOT = "\u0001slot\u0001";

    private final Random rnd;

    FuzzInputs(Random rnd) {
        this.rnd = rnd;
    }

    int nextInt(int bound) {
        return rnd.nextInt(bound);
    }

    boolean chance(int percent) {
        return rnd.nextInt(100) < percent;
    }

    <T> T pick(List<T> from) {
        return from.get(rnd.nextInt(from.size()));
    }

    byte[] bytes(int maxLength) {
        byte[] b = new byte[rnd.nextInt(maxLength + 1)];
        rnd.nextBytes(b);
        return b;
    }

    /** A valid-UTF-8 string of random code points (controls, quotes, braces, astral characters). */
    String text(int maxLength) {
        StringBuilder s = new StringBuilder();
        int n = rnd.nextInt(maxLength + 1);
        for (int i = 0; i < n; i++) {
            switch (rnd.nextInt(5)) {
                case 0 -> s.append(JSON_CHARS.charAt(rnd.nextInt(JSON_CHARS.length())));
                case 1 -> s.append((char) rnd.nextInt(0x20));
                case 2 -> s.appendCodePoint(0x80 + rnd.nextInt(0xd000));
                case 3 -> s.appendCodePoint(0x10000 + rnd.nextInt(0x10000));
                default -> s.append((char) (0x20 + rnd.nextInt(0x5f)));
            }
        }
        return s.toString();
    }

    /** {@code valid} with bytes that are not UTF-8 inserted (stray continuation, overlong, surrogate, truncated sequence). */
    byte[] invalidUtf8(String valid) {
        byte[] v = valid.getBytes(StandardCharsets.UTF_8);
        byte[][] bad = {{(byte) 0x80}, {(byte) 0xc0, (byte) 0xaf}, {(byte) 0xed, (byte) 0xa0, (byte) 0x80}, {(byte) 0xff},
                {(byte) 0xf4, (byte) 0x90, (byte) 0x80, (byte) 0x80}, {(byte) 0xe2, (byte) 0x82}, {(byte) 0xc3, (byte) 0x28}};
        byte[] insert = bad[rnd.nextInt(bad.length)];
        int at = rnd.nextInt(v.length + 1);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(v, 0, at);
        out.writeBytes(insert);
        out.write(v, at, v.length - at);
        return out.toByteArray();
    }

    /** Nesting {@code depth} deep: arrays, objects, or the frame's own shape wrapped around itself. */
    String deep(int depth, String field) {
        StringBuilder s = new StringBuilder(depth * (field.length() + 6));
        boolean arrays = rnd.nextBoolean();
        for (int i = 0; i < depth; i++) s.append(arrays ? "[" : "{" + Json.quote(field) + ":");
        s.append("1");
        for (int i = 0; i < depth; i++) s.append(arrays ? "]" : "}");
        return s.toString();
    }

    /** A random raw JSON value (sometimes not valid JSON at all). */
    String jsonValue(int depth) {
        return switch (rnd.nextInt(depth > 0 ? 7 : 5)) {
            case 0 -> pick(NASTY_TOKENS);
            case 1 -> Json.quote(text(20));
            case 2 -> Long.toString(rnd.nextLong());
            case 3 -> rnd.nextBoolean() ? "\"" + "x".repeat(rnd.nextInt(3000)) + "\"" : Double.toString(rnd.nextDouble() * 1e300);
            case 4 -> text(8);
            case 5 -> "[" + jsonValue(depth - 1) + "," + jsonValue(depth - 1) + "]";
            default -> "{" + Json.quote(text(6)) + ":" + jsonValue(depth - 1) + "}";
        };
    }

    /** A mutation of the valid frame {@code valid}: grammar-aware half the time, byte-level otherwise. */
    String mutate(String valid) {
        if (rnd.nextBoolean()) {
            String json = mutateJson(valid);
            if (json != null) return json;
        }
        return mutateText(valid);
    }

    /** Truncate, delete, insert, duplicate or swap characters of {@code s}. */
    String mutateText(String s) {
        if (s.isEmpty()) return text(10);
        int a = rnd.nextInt(s.length()), b = a + rnd.nextInt(s.length() - a + 1);
        return switch (rnd.nextInt(5)) {
            case 0 -> s.substring(0, a);
            case 1 -> s.substring(0, a) + s.substring(b);
            case 2 -> s.substring(0, a) + text(6) + s.substring(a);
            case 3 -> s.substring(0, b) + s.substring(a, b) + s.substring(b);
            default -> s.substring(0, a) + "{}[]\",:\\".charAt(rnd.nextInt(8)) + s.substring(Math.min(s.length(), a + 1));
        };
    }

    /** {@code valid} parsed as JSON with one value replaced, a field dropped/renamed/added; null if it is not JSON. */
    String mutateJson(String valid) {
        JsonNode root;
        try {
            root = Json.MAPPER.readTree(valid);
        } catch (IOException e) {
            return null;
        }
        if (!(root instanceof ContainerNode<?>)) return null;
        List<ContainerNode<?>> containers = new ArrayList<>();
        collect(root, containers);
        ContainerNode<?> target = pick(containers);
        String raw = null;
        if (target instanceof ObjectNode o && o.size() > 0) {
            List<String> names = new ArrayList<>();
            o.fieldNames().forEachRemaining(names::add);
            String name = pick(names);
            switch (rnd.nextInt(5)) {
                case 0 -> o.remove(name);
                case 1 -> o.set(text(6), o.remove(name));
                case 2 -> o.set(text(4), TextNode.valueOf(SLOT));
                case 3 -> {
                    String inner = o.get(name).isTextual() ? mutate(o.get(name).asText()) : null; // a string holding JSON (ActionCable identifiers)
                    if (inner != null) o.put(name, inner);
                    else o.set(name, TextNode.valueOf(SLOT));
                }
                default -> o.set(name, TextNode.valueOf(SLOT));
            }
            raw = jsonValue(2);
        } else if (target instanceof ArrayNode a && a.size() > 0) {
            int i = rnd.nextInt(a.size());
            if (rnd.nextInt(4) == 0) a.remove(i);
            else a.set(i, TextNode.valueOf(SLOT));
            raw = jsonValue(2);
        }
        String out = root.toString();
        return raw == null ? out : out.replace(Json.quote(SLOT), raw);
    }

    private static void collect(JsonNode node, List<ContainerNode<?>> into) {
        if (node instanceof ContainerNode<?> c) {
            into.add(c);
            node.elements().forEachRemaining(child -> collect(child, into));
        }
    }
}
