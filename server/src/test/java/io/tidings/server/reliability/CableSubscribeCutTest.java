package io.tidings.server.reliability;

import io.tidings.server.TestGateway;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The cause of the ActionCable client that stopped receiving under jitter (docs/reliability.md,
 * "Failures the suite found"), made deterministic: a real {@code @anycable/web} client (extended
 * protocol, through cable/many.mjs) whose socket is cut right after it sent a subscribe, before the
 * confirmation can arrive. @anycable/core 1.x then drops the subscription for good (its extended
 * protocol's reset rejects the pending subscribe without the disconnect error, which the cable takes
 * as final); with the harness's fix (cable/anycable-reset-fix.mjs) the client subscribes again on its
 * next connection and gets every event.
 */
class CableSubscribeCutTest {
    static final String PREFIX = "j";
    static final String CHANNEL = "JitterChannel";
    static final String ROOM = PREFIX + "/r0";

    @TempDir
    Path dir;

    @Test
    void aSubscribeCutBeforeItsConfirmationIsRetriedOnTheNextConnectionAndGetsEveryEvent() throws Exception {
        try (TestGateway g = gateway();
             CableResumingClients cable = new CableResumingClients(g.ws("/cable"), CHANNEL, PREFIX, g)) {
            String epoch = g.gateway().log().head().epoch();
            cable.cutAfterNextSubscribe("c0");
            CableResumingClients.Client c = cable.add("c0", TestGateway.token("cut", PREFIX), List.of(ROOM), epoch);
            assertThat(NetworkJitterTest.awaitOrFail("subscribed after the cut", 20_000, c::subscribed, () -> failures(cable))).isTrue();
            assertThat(cable.cuts.get()).as("the socket was cut after the subscribe").isEqualTo(1);
            assertThat(cable.connects.get()).as("connections: the cut one and the next").isGreaterThanOrEqualTo(2);

            List<Long> published = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                published.add(io.tidings.storage.Offset.parse(g.publish(ROOM, "t", "{\"n\":" + i + "}")).index());
            }
            Map<String, List<Long>> expected = Map.of(ROOM, published);
            assertThat(NetworkJitterTest.awaitOrFail("every event", 20_000, () -> c.sequences.matches(expected), () -> failures(cable))).isTrue();
            c.sequences.check("c0", expected);
        }
    }

    /**
     * The library as published loses the subscription: the channel closes without an error and the
     * client never subscribes to it again, although it reconnects. If this fails, @anycable/core no
     * longer has the defect: drop cable/anycable-reset-fix.mjs.
     */
    @Test
    void withoutTheFixTheLibraryClosesTheInterruptedSubscriptionForGood() throws Exception {
        try (TestGateway g = gateway();
             CableResumingClients cable = new CableResumingClients(g.ws("/cable"), CHANNEL, PREFIX, g, true)) {
            String epoch = g.gateway().log().head().epoch();
            cable.cutAfterNextSubscribe("c0");
            CableResumingClients.Client c = cable.add("c0", TestGateway.token("cut", PREFIX), List.of(ROOM), epoch);
            NetworkJitterTest.awaitOrFail("the client's next connection", 20_000, () -> cable.connects.get() >= 2 || cable.failure != null, List::of);
            Thread.sleep(1_000); // a resubscribe, if there were one, would be answered by now
            assertThat(cable.cuts.get()).isEqualTo(1);
            assertThat(cable.failure).as("the library closed the subscription (fixed upstream? then drop the fix)")
                    .isNotNull().contains("closed c0 r0");
            assertThat(c.subscribed()).isFalse();
        }
    }

    private TestGateway gateway() {
        return new TestGateway(dir, c -> c.cableChannels = Map.of(CHANNEL, PREFIX + "/{room}"));
    }

    private static List<String> failures(CableResumingClients cable) {
        return cable.failure == null ? List.of() : List.of(cable.failure);
    }
}
