package io.tidings.server.ws.cable;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CableChannelRoutesTest {
    final ChannelRoutes routes = new ChannelRoutes(Map.of(
            "NotificationsChannel", "user/{$sub}",
            "ProjectChannel", "projects/{id}",
            "TaskChannel", "projects/{project}/tasks/{id}"));
    private String room(String identifier) {
        ChannelRoutes.Route r = routes.route(identifier, "alice");
        return r.rejected() ? "rejected: " + r.rejection() : r.room();
    }

    @Test
    void mapsIdentifierParametersAndTheSubjectIntoRooms() {
        assertThat(room("{\"channel\":\"NotificationsChannel\"}")).isEqualTo("user/alice");
        assertThat(room("{\"channel\":\"ProjectChannel\",\"id\":42}")).isEqualTo("projects/42");
        assertThat(room("{\"id\":\"42\",\"channel\":\"ProjectChannel\",\"extra\":true}")).isEqualTo("projects/42");
        assertThat(room("{\"channel\":\"TaskChannel\",\"project\":42,\"id\":7}")).isEqualTo("projects/42/tasks/7");
    }

    @Test
    void rejectsWhatDoesNotMapToAValidRoom() {
        // authorization is not the routes' business: any valid room comes out (the Authenticator decides)
        assertThat(room("{\"channel\":\"ProjectChannel\",\"id\":43}")).isEqualTo("projects/43");
        assertThat(room("{\"channel\":\"ChatChannel\"}")).startsWith("rejected: unknown channel");
        assertThat(room("{\"channel\":\"ProjectChannel\"}")).startsWith("rejected: ProjectChannel needs");
        assertThat(room("{\"channel\":\"ProjectChannel\",\"id\":4.2}")).startsWith("rejected: ProjectChannel needs");
        assertThat(room("{\"channel\":\"ProjectChannel\",\"id\":{\"a\":1}}")).startsWith("rejected: ProjectChannel needs");
        assertThat(room("{\"channel\":\"ProjectChannel\",\"id\":\"42/../43\"}")).isEqualTo("rejected: ProjectChannel.id contains '/'");
        assertThat(room("{\"channel\":\"ProjectChannel\",\"id\":\"\"}")).isEqualTo("rejected: ProjectChannel.id is empty");
        assertThat(room("{\"channel\":\"ProjectChannel\",\"id\":\"4 2\"}")).startsWith("rejected: ProjectChannel.id contains whitespace");
        assertThat(room("[\"ProjectChannel\"]")).startsWith("rejected: identifier has no channel");
        assertThat(room("ProjectChannel")).startsWith("rejected: identifier is not JSON");
    }

    @Test
    void badTemplatesFailAtStartUp() {
        assertThatThrownBy(() -> new ChannelRoutes(Map.of("A", "projects/{id")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cableChannels.A");
        assertThatThrownBy(() -> new ChannelRoutes(Map.of("A", "/projects/{id}")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("empty segment");
        assertThatThrownBy(() -> new ChannelRoutes(Map.of("A", "")))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new ChannelRoutes(Map.of("A", "p/{}")))
                .isInstanceOf(IllegalArgumentException.class);
    }

    private String stream(String stream) {
        ChannelRoutes.Route r = routes.streamRoute(stream);
        return r.rejected() ? "rejected: " + r.rejection() : r.room();
    }

    @Test
    void railsBroadcastingsGoToTheRoomTheirChannelStreams() {
        // NotificationsChannel.broadcast_to(user 23): the GlobalID param of gid://lessy/User/23
        assertThat(stream("notifications:Z2lkOi8vbGVzc3kvVXNlci8yMw")).isEqualTo("user/23");
        assertThat(stream("notifications:alice")).isEqualTo("user/alice");
        assertThat(stream("project:42")).isEqualTo("projects/42");
        // broadcast_to([project, task]): one part per placeholder, in template order
        assertThat(stream("task:Z2lkOi8vbGVzc3kvUHJvamVjdC80Mg:Z2lkOi8vbGVzc3kvVGFzay83")).isEqualTo("projects/42/tasks/7");
        assertThat(stream("task:42")).startsWith("rejected: no channel in cableChannels broadcasts to stream task:42");
        assertThat(stream("chat_room_1")).startsWith("rejected: no channel");
        assertThat(stream("project:")).isEqualTo("rejected: ProjectChannel.id is empty");
        assertThat(stream("project:a b")).startsWith("rejected: ProjectChannel.id contains whitespace");
    }

    @Test
    void channelNamesBecomeRailsBroadcastingNames() {
        assertThat(ChannelRoutes.broadcasting("NotificationsChannel")).isEqualTo("notifications");
        assertThat(ChannelRoutes.broadcasting("ChatRoomChannel")).isEqualTo("chat_room");
        assertThat(ChannelRoutes.broadcasting("Chat::RoomChannel")).isEqualTo("chat:room");
        assertThat(ChannelRoutes.broadcasting("HTMLPageChannel")).isEqualTo("html_page");
        assertThat(ChannelRoutes.globalIdRecord("Z2lkOi8vbGVzc3kvVXNlci8yMw")).isEqualTo("23");
        assertThat(ChannelRoutes.globalIdRecord("42")).isEqualTo("42");
    }
}
