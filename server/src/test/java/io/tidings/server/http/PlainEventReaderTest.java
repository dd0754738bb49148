package io.tidings.server.http;

import io.tidings.storage.NewEvent;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link PlainEventReader} accepts only what the Jackson path accepts and builds the same event:
 * every body here is parsed both ways ({@link PublishParser#parse} and
 * {@link PublishParser#parseWithJackson}) and must give the same events or the same error.
 */
class PlainEventReaderTest {
    private static final int MAX_EVENT_BYTES = 64;
    private final PublishParser parser = new PublishParser(MAX_EVENT_BYTES, 100);

    private static final String USUAL =
            "{\"room\":\"loadtest\",\"type\":\"load.tick\",\"id\":\"w0-1\",\"data\":{\"t\":1700000000000.123,\"seq\":1,\"pad\":\"abc\"}}";

    private static final List<String> BODIES = List.of(
            USUAL,
            "{\"room\":\"a\",\"type\":\"t\",\"data\":{}}",
            "{\"room\":\"a\",\"type\":\"t\",\"data\":[]}",
            " \t\r\n{ \"data\" : [ 1 , -2.5e+3 , 0 , 0.0 , 1E9 , true , false , null , \"s\" , { } , [ ] ] , \"type\" : \"t\" , \"room\" : \"a/b\" }\n",
            "{\"room\":\"a\",\"type\":\"t\",\"data\":{\"s\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\uD83D\\uDE00\"}}",
            "{\"room\":\"a\",\"type\":\"t\",\"data\":{\"a\":{\"b\":{\"c\":[[[[1]]]]}}}}",
            "{\"room\":\"a\",\"type\":\"t\",\"id\":\"x\",\"data\":1}",                // scalar data: Jackson's
            "{\"room\":\"a\",\"type\":\"t\",\"data\":\"s\"}",
            "{\"rooms\":[\"a\",\"b\",\"a\"],\"type\":\"t\",\"data\":{}}",               // rooms: Jackson's
            "{\"room\":\"caf\u00e9\",\"type\":\"t\",\"data\":{}}",                      // non-ASCII: Jackson's
            "{\"room\":\"a\",\"type\":\"t\u00e9\",\"data\":{\"k\":\"\u00e9\"}}",
            "{\"room\":\"\\u0061\",\"type\":\"t\",\"data\":{}}",                          // an escape in a name
            "{\"r\\u006fom\":\"a\",\"type\":\"t\",\"data\":{}}",
            "{\"room\":\"a\",\"type\":\"t\",\"data\":{},\"type\":\"u\"}",                  // a field twice
            "{\"room\":\"a\",\"type\":\"t\",\"data\":{},\"data\":[]}",
            "{\"room\":\"a\",\"room\":\"b\",\"type\":\"t\",\"data\":{}}",
            "{\"room\":\"a\",\"type\":\"t\",\"id\":\"\",\"data\":{}}",
            "{\"room\":\"a\",\"type\":\"t\",\"id\":\"" + "i".repeat(PublishParser.MAX_ID_LENGTH + 1) + "\",\"data\":{}}",
            "{\"room\":\"a\",\"type\":\"" + "t".repeat(PublishParser.MAX_TYPE_LENGTH + 1) + "\",\"data\":{}}",
            "{\"room\":\"a\",\"type\":\"" + "t".repeat(PublishParser.MAX_TYPE_LENGTH) + "\",\"data\":{}}",
            "{\"room\":\"a\",\"type\":\"t\\u0001\",\"data\":{}}",
            "{\"room\":\"a\",\"type\":\"t\u007f\",\"data\":{}}",
            "{\"room\":\"a b\",\"type\":\"t\",\"data\":{}}",
            "{\"room\":\"/a\",\"type\":\"t\",\"data\":{}}",
            "{\"room\":\"a\",\"type\":\"t\",\"data\":{\"k\":\"" + "x".repeat(MAX_EVENT_BYTES) + "\"}}", // over maxEventBytes
            "{\"room\":\"a\",\"type\":\"t\",\"data\":{\"k\":\"" + "x".repeat(MAX_EVENT_BYTES - 8) + "\"}}", // exactly at it
            "{\"room\":\"a\",\"type\":\"t\",\"data\":{\"k\":01}}",                       // invalid JSON in data
            "{\"room\":\"a\",\"type\":\"t\",\"data\":{\"k\":1.}}",
            "{\"room\":\"a\",\"type\":\"t\",\"data\":{\"k\":.1}}",
            "{\"room\":\"a\",\"type\":\"t\",\"data\":{\"k\":+1}}",
            "{\"room\":\"a\",\"type\":\"t\",\"data\":{\"k\":-}}",
            "{\"room\":\"a\",\"type\":\"t\",\"data\":{\"k\":1e}}",
            "{\"room\":\"a\",\"type\":\"t\",\"data\":{\"k\":tru}}",
            "{\"room\":\"a\",\"type\":\"t\",\"data\":{\"k\":truex}}",
            "{\"room\":\"a\",\"type\":\"t\",\"data\":{\"k\":NaN}}",
            "{\"room\":\"a\",\"type\":\"t\",\"data\":{\"k\":1,}}",
            "{\"room\":\"a\",\"type\":\"t\",\"data\":[1,]}",
            "{\"room\":\"a\",\"type\":\"t\",\"data\":{k:1}}",
            "{\"room\":\"a\",\"type\":\"t\",\"data\":{'k':1}}",
            "{\"room\":\"a\",\"type\":\"t\",\"data\":{\"k\":\"\\x\"}}",
            "{\"room\":\"a\",\"type\":\"t\",\"data\":{\"k\":\"\\u12G4\"}}",
            "{\"room\":\"a\",\"type\":\"t\",\"data\":{\"k\":\"a\tb\"}}",
            "{\"room\":\"a\",\"type\":\"t\",\"data\":{\"k\" 1}}",
            "{\"room\":\"a\",\"type\":\"t\",\"data\":{\"k\":1 \"j\":2}}",
            "{\"room\":\"a\",\"type\":\"t\",\"data\":{\"k\":[1}}",
            "{\"room\":\"a\",\"type\":\"t\",\"data\":{} /* c */}",
            "{\"room\":\"a\",\"type\":\"t\",\"data\":{}}x",                             // trailing bytes
            "{\"room\":\"a\",\"type\":\"t\",\"data\":{}}\n{\"room\":\"a\",\"type\":\"t\",\"data\":{}}", // NDJSON
            "[{\"room\":\"a\",\"type\":\"t\",\"data\":{}}]",
            "{\"room\":\"a\",\"type\":\"t\",\"data\":{}",
            "{\"room\":\"a\",\"type\":\"t\",\"data\":" + "[".repeat(PlainEventReader.MAX_DEPTH + 2) + "]".repeat(PlainEventReader.MAX_DEPTH + 2) + "}",
            "{\"room\":\"a\",\"type\":\"t\",\"data\":" + "[".repeat(2000) + "]".repeat(2000) + "}",
            "{\"room\":\"a\",\"type\":\"t\",\"data\":[" + "9".repeat(1001) + "]}",
            "{\"type\":\"t\",\"data\":{}}",
            "{\"room\":\"a\",\"data\":{}}",
            "{\"room\":\"a\",\"type\":\"t\"}",
            "{\"room\":\"a\",\"type\":\"t\",\"data\":{},\"extra\":1}",
            "{\"room\":1,\"type\":\"t\",\"data\":{}}",
            "{}",
            "{",
            "",
            "   ",
            "\uFEFF{\"room\":\"a\",\"type\":\"t\",\"data\":{}}");

    @Test
    void theUsualBodyIsReadWithoutJacksonAndGivesTheSameEvent() throws Exception {
        byte[] body = USUAL.getBytes(StandardCharsets.UTF_8);
        NewEvent plain = PlainEventReader.read(body, MAX_EVENT_BYTES);
        assertThat(plain).isNotNull(); // else this test compares Jackson with itself
        assertThat(plain.rooms()).containsExactly("loadtest");
        assertThat(plain.type()).isEqualTo("load.tick");
        assertThat(plain.producerId()).isEqualTo("w0-1");
        assertThat(new String(plain.data(), StandardCharsets.UTF_8)).isEqualTo("{\"t\":1700000000000.123,\"seq\":1,\"pad\":\"abc\"}");
        assertSame(body);
    }

    @Test
    void everyBodyGivesWhatJacksonGives() {
        int readPlain = 0;
        for (String b : BODIES) {
            byte[] body = b.getBytes(StandardCharsets.UTF_8);
            if (PlainEventReader.read(body, MAX_EVENT_BYTES) != null) readPlain++;
            assertSame(body);
        }
        assertThat(readPlain).as("bodies the plain reader took").isGreaterThanOrEqualTo(8);
    }

    /** Seeded mutations of valid bodies (bytes replaced, inserted, deleted): mostly invalid, some still valid. */
    @Test
    void mutatedBodiesGiveWhatJacksonGives() {
        Random random = new Random(17);
        byte[] alphabet = "{}[]\":,\\ \t\n0123456789.eE+-truefalsnabc/\u00e9".getBytes(StandardCharsets.UTF_8);
        List<String> seeds = new ArrayList<>(BODIES.subList(0, 6));
        int readPlain = 0;
        for (int i = 0; i < 20_000; i++) {
            byte[] body = seeds.get(random.nextInt(seeds.size())).getBytes(StandardCharsets.UTF_8);
            for (int m = 1 + random.nextInt(3); m > 0; m--) body = mutate(body, random, alphabet);
            if (PlainEventReader.read(body, MAX_EVENT_BYTES) != null) readPlain++;
            assertSame(body);
        }
        assertThat(readPlain).as("mutated bodies the plain reader took").isPositive();
    }

    private static byte[] mutate(byte[] body, Random random, byte[] alphabet) {
        if (body.length == 0) return new byte[]{alphabet[random.nextInt(alphabet.length)]};
        int at = random.nextInt(body.length);
        byte c = alphabet[random.nextInt(alphabet.length)];
        byte[] out;
        switch (random.nextInt(3)) {
            case 0 -> {
                out = body.clone();
                out[at] = c;
            }
            case 1 -> {
                out = new byte[body.length + 1];
                System.arraycopy(body, 0, out, 0, at);
                out[at] = c;
                System.arraycopy(body, at, out, at + 1, body.length - at);
            }
            default -> {
                out = new byte[body.length - 1];
                System.arraycopy(body, 0, out, 0, at);
                System.arraycopy(body, at + 1, out, at, body.length - at - 1);
            }
        }
        return out;
    }

    /** parse (plain reader first) and parseWithJackson agree: same events and shape, or the same error. */
    private void assertSame(byte[] body) {
        String what = new String(body, StandardCharsets.UTF_8);
        Object viaParse = outcome(() -> parser.parse(body));
        Object viaJackson = outcome(() -> parser.parseWithJackson(body));
        assertThat(viaParse).as(what).isEqualTo(viaJackson);
    }

    private interface Parse {
        PublishFormat.Batch run() throws ApiError;
    }

    private static Object outcome(Parse parse) {
        try {
            PublishFormat.Batch batch = parse.run();
            List<String> events = new ArrayList<>();
            for (NewEvent e : batch.events()) {
                events.add(e.rooms() + " " + e.type() + " " + e.producerId() + " " + new String(e.data(), StandardCharsets.UTF_8)
                        + " " + java.util.Arrays.toString(e.data()));
            }
            return "single=" + batch.single() + " " + events;
        } catch (ApiError e) {
            return e.status() + " " + e.code() + " " + e.getMessage();
        }
    }
}
