package io.tidings.server.ws.cable;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class CableRestorableSessionsTest {
    static RestorableSessions.Snapshot snapshot(String subject) {
        return new RestorableSessions.Snapshot(subject,
                List.of(new CableSubscription("{\"channel\":\"NotificationsChannel\"}", "\"{\\\"channel\\\":\\\"NotificationsChannel\\\"}\"", "user/" + subject)),
                System.currentTimeMillis());
    }

    @Test
    void anEndedSessionIsRestoredOnceAndOnlyForItsSubject() {
        RestorableSessions sessions = new RestorableSessions(60_000, 10, null);
        sessions.ended("s1", null, snapshot("alice"));
        assertThat(sessions.take("s1", "mallory").join()).isNull();
        assertThat(sessions.take("s1", "alice").join().subscriptions()).hasSize(1);
        assertThat(sessions.take("s1", "alice").join()).isNull();
        assertThat(sessions.take("unknown", "alice").join()).isNull();
    }

    @Test
    void keepsAtMostTheConfiguredNumberDroppingTheOldest() {
        RestorableSessions sessions = new RestorableSessions(60_000, 2, null);
        sessions.ended("s1", null, snapshot("a"));
        sessions.ended("s2", null, snapshot("b"));
        sessions.ended("s3", null, snapshot("c"));
        assertThat(sessions.endedCount()).isEqualTo(2);
        assertThat(sessions.take("s1", "a").join()).isNull();
        assertThat(sessions.take("s3", "c").join()).isNotNull();
    }

    @Test
    void expiredSessionsAreNotRestored() {
        RestorableSessions sessions = new RestorableSessions(60_000, 10, null);
        sessions.ended("old", null, new RestorableSessions.Snapshot("alice", List.of(), System.currentTimeMillis() - 60_001));
        assertThat(sessions.take("old", "alice").join()).isNull();
        RestorableSessions disabled = new RestorableSessions(0, 10, null);
        disabled.ended("s", null, snapshot("alice"));
        assertThat(disabled.take("s", "alice").join()).isNull();
    }

    @Test
    void aSessionRecordForTheClusterTableDecodesToWhatWasEncoded() throws Exception {
        RestorableSessions.Snapshot s = snapshot("alice");
        assertThat(RestorableSessions.decode(RestorableSessions.encode(s))).isEqualTo(s);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> RestorableSessions.decode("{\"v\":2}".getBytes()))
                .isInstanceOf(java.io.IOException.class);
    }

    @Test
    void sessionIdsAreLongAndRandom() {
        assertThat(RestorableSessions.newSid()).hasSize(22).isNotEqualTo(RestorableSessions.newSid());
    }
}
