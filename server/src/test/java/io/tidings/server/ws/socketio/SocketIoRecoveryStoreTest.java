package io.tidings.server.ws.socketio;

import io.tidings.storage.Offset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/** The recovery store's files and its recovery rule, on a real directory with damaged files written on purpose. */
class SocketIoRecoveryStoreTest {
    static final long TTL = 60_000;
    static final String EPOCH = "k3f9a2c1q0ab"; // the shape of a real log epoch (12 base-36 characters)
    static final String PID_A = "AAAAAAAAAAAAAAAAAAAAAA", PID_B = "BBBBBBBBBBBBBBBBBBBBBB", PID_C = "CCCCCCCCCCCCCCCCCCCCCC";

    @TempDir
    Path dir;
    final AtomicLong now = new AtomicLong(1_000_000);
    final Object owner = new Object();

    RecoveryStore open() {
        return RecoveryStore.open(dir, TTL, false, now::get);
    }

    static RecoveryStore.Record record(String pid, Map<String, Offset> rooms) {
        return new RecoveryStore.Record(pid, "sid-" + pid, "alice", rooms, true, 0);
    }

    @Test
    void recordsSurviveReopeningWithRoomsInJoinOrder() {
        Map<String, Offset> rooms = new LinkedHashMap<>();
        rooms.put("teamspaceA/m2", new Offset(EPOCH, 7));
        rooms.put("teamspaceA", new Offset(EPOCH, 3));
        RecoveryStore s = open();
        s.create(record(PID_A, Map.of()), owner);
        s.rooms(PID_A, owner, rooms);
        now.addAndGet(5);
        s.release(PID_A, owner);
        s.flush();

        RecoveryStore again = open();
        RecoveryStore.Record r = again.find(PID_A).join();
        assertThat(r.sid()).isEqualTo("sid-" + PID_A);
        assertThat(r.subject()).isEqualTo("alice");
        assertThat(r.rooms()).containsExactlyEntriesOf(rooms);
        assertThat(r.connected()).isFalse();
        assertThat(r.lastSeenMs()).isEqualTo(1_000_005);
        assertThat(Files.exists(dir.resolve(PID_A + ".json"))).isTrue();
    }

    @Test
    void onlyTheHolderChangesARecordAndCloseStopsWriting() throws Exception {
        RecoveryStore s = open();
        s.create(record(PID_A, Map.of()), owner);
        Object newer = new Object();
        RecoveryStore.Taken t = s.take(PID_A, newer);
        assertThat(t.displaced()).isSameAs(owner);
        s.rooms(PID_A, owner, Map.of("teamspaceA", new Offset(EPOCH, 1))); // the displaced one: ignored
        s.release(PID_A, owner);                                                  // ignored too
        assertThat(s.find(PID_A).join().rooms()).isEmpty();
        assertThat(s.find(PID_A).join().connected()).isTrue();

        now.addAndGet(10);
        s.close(); // held sessions are recorded as disconnected now
        byte[] atClose = Files.readAllBytes(dir.resolve(PID_A + ".json"));
        assertThat(RecoveryStore.decode(atClose).connected()).isFalse();
        assertThat(RecoveryStore.decode(atClose).lastSeenMs()).isEqualTo(1_000_010);
        s.create(record(PID_B, Map.of()), owner); // a late callback of a stopped gateway writes nothing
        s.discard(PID_A, null);
        assertThat(dir.resolve(PID_B + ".json")).doesNotExist();
        assertThat(Files.readAllBytes(dir.resolve(PID_A + ".json"))).isEqualTo(atClose);
    }

    @Test
    void openDeletesLeftoversDamageAndExpiredRecordsAndDatesCrashedOnesToNow() throws Exception {
        RecoveryStore s = open();
        s.create(record(PID_A, Map.of("teamspaceA", new Offset(EPOCH, 1))), owner); // held: "connected"
        s.create(record(PID_B, Map.of()), owner);
        s.release(PID_B, owner); // disconnected at 1_000_000
        s.flush();
        // no close(): as after kill -9
        Files.writeString(dir.resolve(PID_C + ".tmp"), "{\"v\":1,\"pid\":\"half-writ");
        Files.writeString(dir.resolve("DDDDDDDDDDDDDDDDDDDDDD.json"), "{\"v\":1,\"pid\":\"DDDD");      // torn
        Files.write(dir.resolve("EEEEEEEEEEEEEEEEEEEEEE.json"), new byte[]{0, 0, 0, 0});              // zeroed (power loss)
        Files.writeString(dir.resolve("FFFFFFFFFFFFFFFFFFFFFF.json"),
                new String(RecoveryStore.encode(record(PID_C, Map.of())), StandardCharsets.UTF_8)); // name and pid disagree
        Files.writeString(dir.resolve("GGGGGGGGGGGGGGGGGGGGGG.json"), new String(RecoveryStore.encode(
                new RecoveryStore.Record("GGGGGGGGGGGGGGGGGGGGGG", "s", "alice", Map.of(), false, 1_000_000)), StandardCharsets.UTF_8)
                .replace("\"v\":1", "\"v\":2"));                                                       // unknown version

        now.set(1_000_000 + TTL + 1); // B has now been away longer than the TTL; A was held at the crash
        RecoveryStore again = open();
        assertThat(again.find(PID_B).join()).isNull();
        RecoveryStore.Record a = again.find(PID_A).join();
        assertThat(a.connected()).isFalse();
        assertThat(a.lastSeenMs()).as("held when the gateway died: seen until it came back").isEqualTo(now.get());
        assertThat(RecoveryStore.decode(Files.readAllBytes(dir.resolve(PID_A + ".json"))).lastSeenMs()).isEqualTo(now.get());
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString()).toList()).containsExactly(PID_A + ".json");
        }
    }

    @Test
    void anExpiredSessionIsNotFoundEvenBeforeASweep() {
        RecoveryStore s = open();
        s.create(record(PID_A, Map.of()), owner);
        s.release(PID_A, owner);
        now.addAndGet(TTL);
        assertThat(s.find(PID_A).join()).as("at the TTL: still recoverable").isNotNull();
        now.addAndGet(1);
        assertThat(s.find(PID_A).join()).isNull();
        s.flush();
        assertThat(dir.resolve(PID_A + ".json")).doesNotExist();
    }

    @Test
    void expiredSessionsAreSweptAndUnheldOnesOnly() {
        RecoveryStore s = open();
        s.create(record(PID_A, Map.of()), owner);
        s.create(record(PID_B, Map.of()), owner);
        s.release(PID_B, owner);
        now.addAndGet(TTL + 1);
        assertThat(s.sweep()).isEqualTo(1);
        assertThat(s.find(PID_A).join()).isNotNull();
        assertThat(s.find(PID_B).join()).isNull();
        s.flush();
        assertThat(dir.resolve(PID_B + ".json")).doesNotExist();
    }

    @Test
    void aBurstOfRoomChangesIsWrittenByTheWriterAndEachChangeIsToldWhenItIsOnDisk() throws Exception {
        RecoveryStore s = open();
        s.create(record(PID_A, Map.of()), owner);
        Map<String, Offset> rooms = new LinkedHashMap<>();
        List<java.util.concurrent.CompletableFuture<Void>> written = new java.util.ArrayList<>();
        for (int i = 0; i < 300; i++) {
            rooms.put("teamspaceA/m" + i, new Offset(EPOCH, i));
            written.add(s.rooms(PID_A, owner, rooms));
        }
        for (var w : written) w.get(20, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(RecoveryStore.decode(Files.readAllBytes(dir.resolve(PID_A + ".json"))).rooms())
                .as("the last change is on disk once its future completed").containsExactlyEntriesOf(rooms);
        assertThat(s.rooms(PID_A, new Object(), Map.of())).as("not the holder: nothing to wait for").isDone();
        s.close();
        assertThat(s.rooms(PID_A, owner, Map.of())).as("after close: nothing is written, nobody waits").isDone();
    }

    @Test
    void pidsThatAreNotOursAreNeverLookedUpAsFiles() {
        RecoveryStore s = open();
        s.create(record(PID_A, Map.of()), owner);
        for (String pid : new String[]{"../" + PID_A, PID_A + "/..", "", "short", PID_A.replace('A', '.')}) {
            assertThat(s.find(pid).join()).as(pid).isNull();
        }
        assertThat(s.find(PID_A).join()).isNotNull();
        s.close(); // its writer thread stops before the temporary directory is deleted
    }
}
