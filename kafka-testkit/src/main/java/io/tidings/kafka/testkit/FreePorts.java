package io.tidings.kafka.testkit;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Listening ports for test processes that bind them later (a Kafka node, a child gateway, one that
 * is restarted on the same port after a SIGKILL). A port from {@code new ServerSocket(0)} lies in the
 * kernel's ephemeral range, where any outgoing connection may be handed it before the process binds
 * it; these are free when picked and lie below that range, where nothing is handed out.
 *
 * <p>Thread-safety: stateless; two callers may still pick the same port (rare: a range of about
 * 12,000), so pick every port of one process in one call.
 */
public final class FreePorts {

    private FreePorts() {
    }

    /** {@code count} distinct ports, each bindable on localhost at the time of the call. */
    public static int[] pick(int count) {
        int below = ephemeralLow();
        int from = Math.min(20_000, below / 2);
        int[] ports = new int[count];
        ThreadLocalRandom random = ThreadLocalRandom.current();
        for (int i = 0; i < count; ) {
            int candidate = random.nextInt(from, below);
            if (contains(ports, i, candidate) || !bindable(candidate)) continue;
            ports[i++] = candidate;
        }
        return ports;
    }

    /** One port, as {@link #pick}. */
    public static int pick() {
        return pick(1)[0];
    }

    private static int ephemeralLow() {
        try {
            String range = Files.readString(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).trim();
            int low = Integer.parseInt(range.split("\\s+")[0]);
            return low > 4_096 ? low : 32_768;
        } catch (IOException | RuntimeException notLinux) {
            return 32_768;
        }
    }

    private static boolean bindable(int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress("localhost", port));
            return true;
        } catch (IOException taken) {
            return false;
        }
    }

    private static boolean contains(int[] values, int length, int value) {
        for (int i = 0; i < length; i++) if (values[i] == value) return true;
        return false;
    }
}
