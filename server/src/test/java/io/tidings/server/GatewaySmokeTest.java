package io.tidings.server;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class GatewaySmokeTest {
    @TempDir
    Path dir;

    @Test
    void publishedEventsAreReplayedAndSurviveRestart() {
        try (TestGateway g = new TestGateway(dir)) {
            String offset = g.publish("teamspaceA/m1", "newIssues", "{\"title\":\"t\"}");
            g.restart();
            var lines = g.replayLines("room=teamspaceA");
            assertThat(lines).hasSize(1);
            assertThat(lines.get(0).get("offset").asText()).isEqualTo(offset);
            assertThat(lines.get(0).get("data").toString()).isEqualTo("{\"title\":\"t\"}");
        }
    }
}
