package io.tidings.server.reliability;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A real TCP proxy on loopback that forwards bytes between clients and a target port and, while
 * {@link #startFaults faults are on}, picks a random open link every few milliseconds (seeded) and
 * injects one {@link Fault}: a reset, a clean FIN, a cut in the middle of the bytes flowing to the
 * client, or a stall. Clients connect to {@link #port()} instead of the gateway.
 *
 * <p>Thread safety: one acceptor thread, two pump threads per link, one fault thread; the counters
 * and the link set are safe to read from any thread.
 */
public final class FaultyTcpProxy implements AutoCloseable {
    public enum Fault {
        /** RST both ways (SO_LINGER 0, then close): the peers see "connection reset". */
        RESET,
        /** FIN both ways: the peers see an orderly end of stream without a WebSocket close. */
        FIN,
        /** The next chunk towards the client is forwarded only in part, then both sides are reset: a frame cut in the middle. */
        MID_FRAME,
        /** Nothing is forwarded towards the client for a while (up to {@link #MAX_STALL_MS}), then the link goes on. */
        STALL
    }

    static final int MAX_STALL_MS = 800;

    private volatile int targetPort;
    private final ServerSocket server;
    private final Set<Link> links = ConcurrentHashMap.newKeySet();
    private final Map<Fault, AtomicInteger> injected = new EnumMap<>(Fault.class);
    private final AtomicInteger accepted = new AtomicInteger();
    private final AtomicLong forwardedBytes = new AtomicLong();
    private final Random random;
    private volatile boolean open = true;
    private volatile Thread faults;

    public FaultyTcpProxy(int targetPort, long seed) throws IOException {
        this.targetPort = targetPort;
        this.random = new Random(seed);
        for (Fault f : Fault.values()) injected.put(f, new AtomicInteger());
        server = new ServerSocket(0, 512, InetAddress.getLoopbackAddress());
        Thread acceptor = new Thread(this::accept, "proxy-accept");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** New connections go to {@code port} from now on (a load balancer moving clients to another node). */
    public void retarget(int port) {
        targetPort = port;
    }

    public int port() {
        return server.getLocalPort();
    }

    /** Injects a random fault into a random open link every {@code 0..2×meanIntervalMs} ms until {@link #stopFaults()}. */
    public synchronized void startFaults(int meanIntervalMs) {
        if (faults != null) return;
        faults = new Thread(() -> {
            while (open && faults == Thread.currentThread()) {
                sleep(next(2 * meanIntervalMs + 1));
                List<Link> now = new ArrayList<>(links);
                if (now.isEmpty()) continue;
                now.sort((a, b) -> Integer.compare(a.id, b.id)); // a set's order is not seeded
                inject(now.get(next(now.size())), Fault.values()[next(Fault.values().length)]);
            }
        }, "proxy-faults");
        faults.setDaemon(true);
        faults.start();
    }

    public synchronized void stopFaults() {
        Thread t = faults;
        faults = null;
        if (t != null) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** How many faults of each kind were injected so far. */
    public Map<Fault, Integer> injected() {
        Map<Fault, Integer> out = new EnumMap<>(Fault.class);
        injected.forEach((f, n) -> out.put(f, n.get()));
        return out;
    }

    /** Connections that were cut (every fault but {@link Fault#STALL}). */
    public int cuts() {
        return injected.get(Fault.RESET).get() + injected.get(Fault.FIN).get() + injected.get(Fault.MID_FRAME).get();
    }

    public int accepted() {
        return accepted.get();
    }

    public long forwardedBytes() {
        return forwardedBytes.get();
    }

    private int next(int bound) {
        synchronized (random) {
            return random.nextInt(bound);
        }
    }

    private void inject(Link link, Fault fault) {
        injected.get(fault).incrementAndGet();
        switch (fault) {
            case RESET -> link.reset();
            case FIN -> link.finish();
            case MID_FRAME -> link.cutMidChunk = true;
            case STALL -> link.stalledUntil = System.currentTimeMillis() + 1 + next(MAX_STALL_MS);
        }
    }

    private void accept() {
        while (open) {
            try {
                Socket client = server.accept();
                Socket upstream = new Socket();
                try {
                    upstream.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), targetPort), 5000);
                } catch (IOException e) {
                    client.close();
                    continue;
                }
                accepted.incrementAndGet();
                new Link(accepted.get(), client, upstream).start();
            } catch (IOException e) {
                if (open) throw new IllegalStateException("proxy accept failed", e);
            }
        }
    }

    /** One client connection and its upstream connection to the target. */
    private final class Link {
        final int id;
        final Socket client;
        final Socket upstream;
        volatile boolean cutMidChunk;
        volatile long stalledUntil;

        Link(int id, Socket client, Socket upstream) {
            this.id = id;
            this.client = client;
            this.upstream = upstream;
        }

        void start() {
            links.add(this);
            pump(client, upstream, false, "proxy-up-" + id);
            pump(upstream, client, true, "proxy-down-" + id);
        }

        private void pump(Socket from, Socket to, boolean towardsClient, String name) {
            Thread t = new Thread(() -> {
                byte[] buf = new byte[8192];
                try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                    for (int n = in.read(buf); n >= 0; n = in.read(buf)) {
                        if (towardsClient) {
                            long stall = stalledUntil - System.currentTimeMillis();
                            if (stall > 0) sleep(stall);
                            if (cutMidChunk) {
                                out.write(buf, 0, next(n)); // 0..n-1 bytes of the chunk
                                out.flush();
                                reset();
                                return;
                            }
                        }
                        out.write(buf, 0, n);
                        forwardedBytes.addAndGet(n);
                    }
                    to.shutdownOutput(); // pass the peer's FIN on
                } catch (IOException e) {
                    reset(); // one side broke: the other side learns it the hard way
                }
            }, name);
            t.setDaemon(true);
            t.start();
        }

        void reset() {
            links.remove(this);
            for (Socket s : List.of(client, upstream)) {
                try {
                    s.setSoLinger(true, 0);
                } catch (IOException ignored) {
                    // already closed
                }
                closeQuietly(s);
            }
        }

        void finish() {
            links.remove(this);
            for (Socket s : List.of(client, upstream)) {
                try {
                    s.shutdownOutput();
                } catch (IOException ignored) {
                    // already closed
                }
                closeQuietly(s);
            }
        }
    }

    private static void closeQuietly(java.io.Closeable s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // nothing to do
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        open = false;
        stopFaults();
        closeQuietly(server);
        for (Link l : new ArrayList<>(links)) l.reset();
    }
}
