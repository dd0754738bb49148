package io.tidings.server;

import org.junit.jupiter.api.Test;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * ops/tidings.example.yaml is the operator's reference: it must load, name every setting of
 * {@link GatewayConfig}, and state each default (a setting with a different value there is a
 * production recommendation and listed here).
 */
class ExampleConfigTest {
    static final Path EXAMPLE = Path.of("..", "ops", "tidings.example.yaml");
    /** Keys the example sets to a recommended value instead of the default. */
    static final List<String> NOT_DEFAULT = List.of("dataDir");

    @Test
    void exampleConfigNamesEverySettingWithItsDefault() throws Exception {
        String text = Files.readString(EXAMPLE);
        GatewayConfig example = GatewayConfig.load(EXAMPLE, Map.of());
        GatewayConfig defaults = new GatewayConfig();
        List<Field> settings = Arrays.stream(GatewayConfig.class.getFields())
                .filter(f -> !Modifier.isStatic(f.getModifiers())).toList();
        assertThat(settings).isNotEmpty();
        for (Field f : settings) {
            assertThat(Pattern.compile("(?m)^" + f.getName() + ":").matcher(text).find())
                    .as("ops/tidings.example.yaml sets " + f.getName()).isTrue();
            if (!NOT_DEFAULT.contains(f.getName())) {
                assertThat(f.get(example)).as("default of " + f.getName() + " in the example").isEqualTo(f.get(defaults));
            }
        }
    }
}
