package io.tidings.server.ws.cable;

import io.tidings.server.GatewayConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CableConfigTest {
    @TempDir
    Path dir;

    @Test
    void defaultsServeLessyOnSlashCable() throws Exception {
        GatewayConfig c = GatewayConfig.load(null, Map.of());
        assertThat(c.cablePath).isEqualTo("/cable");
        assertThat(c.cablePingIntervalMs).isEqualTo(3_000);
        assertThat(c.cableChannels).containsExactly(Map.entry("NotificationsChannel", "user/{$sub}"));
        assertThat(c.cableDisconnectFrames).isEqualTo(DisconnectFrames.STANDARD);
    }

    @Test
    void channelsComeFromYamlOrTheEnvironment() throws Exception {
        Path yaml = dir.resolve("tidings.yaml");
        Files.writeString(yaml, """
                cableChannels:
                  ProjectChannel: "projects/{id}"
                  NotificationsChannel: "user/{$sub}"
                cableDisconnectFrames: legacy_safe
                """);
        GatewayConfig c = GatewayConfig.load(yaml, Map.of());
        // the map is replaced, not merged (the order shows it)
        assertThat(c.cableChannels).containsExactly(Map.entry("ProjectChannel", "projects/{id}"), Map.entry("NotificationsChannel", "user/{$sub}"));
        assertThat(c.cableDisconnectFrames).isEqualTo(DisconnectFrames.LEGACY_SAFE);

        GatewayConfig e = GatewayConfig.load(null, Map.of("TIDINGS_CABLE_CHANNELS", "ProjectChannel=projects/{id}, TaskChannel=tasks/{id}",
                "TIDINGS_CABLE_DISCONNECT_FRAMES", "NONE"));
        assertThat(e.cableChannels).containsExactly(Map.entry("ProjectChannel", "projects/{id}"), Map.entry("TaskChannel", "tasks/{id}"));
        assertThat(e.cableDisconnectFrames).isEqualTo(DisconnectFrames.NONE);
        assertThatThrownBy(() -> GatewayConfig.load(null, Map.of("TIDINGS_CABLE_CHANNELS", "ProjectChannel")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("TIDINGS_CABLE_CHANNELS");
    }
}
