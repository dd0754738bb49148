package io.tidings.server.cli;

import io.tidings.server.DevCredentials;
import io.tidings.server.Gateway;
import io.tidings.server.GatewayConfig;
import io.tidings.server.auth.TokenVerifier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import sun.misc.Signal;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/**
 * {@code tidings serve}: runs the gateway until SIGTERM/SIGINT, then shuts down gracefully (see
 * {@link Gateway#close()}) and exits 0. The signals are handled here rather than by the JVM's
 * default handler, which would run the shutdown hooks and then exit with 128+signal (143).
 */
@Command(name = "serve", description = "Run the gateway.")
public final class ServeCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions options;

    @Override
    public Integer call() throws Exception {
        GatewayConfig config = options.load();
        Gateway gateway = Gateway.start(config);
        CountDownLatch stop = new CountDownLatch(1);
        for (String signal : List.of("TERM", "INT")) {
            try {
                Signal.handle(new Signal(signal), s -> stop.countDown());
            } catch (IllegalArgumentException unsupported) {
                // no such signal on this platform: the shutdown hook below still closes the gateway
            }
        }
        // Any other way the JVM ends (System.exit, SIGHUP …): still close gracefully. close() is idempotent.
        Runtime.getRuntime().addShutdownHook(new Thread(gateway::close, "tidings-shutdown"));
        String base = gateway.scheme() + "://localhost:" + gateway.port();
        System.out.println("tidings: listening on " + base + " (data in " + config.dataDir.toAbsolutePath()
                + ", log epoch " + gateway.log().epoch() + ", head " + gateway.log().head() + ")");
        DevCredentials dev = gateway.devCredentials();
        if (dev != null && dev.created()) {
            String token = new TokenVerifier(gateway.jwtSecret()).mint("dev", List.of("teamspaceA"), Duration.ofDays(30));
            System.out.println("""
                    tidings: generated dev credentials (shown once; kept in %s):
                      publish key: %s
                      audit key:   %s
                    Try it:
                      curl -s -X POST %s/v1/events -H 'Authorization: Bearer %s' \\
                        -d '{"room":"teamspaceA/m1","type":"newIssues","data":{"title":"hello"}}'
                      curl -s '%s/v1/events?room=teamspaceA' -H 'Authorization: Bearer %s'
                    A subscriber token for user 'dev' with room teamspaceA (30 days):
                      %s
                      websocket: %s://localhost:%d/v1/ws?token=<token>
                    """.formatted(config.dataDir.resolve(DevCredentials.FILE), dev.publishKey(), dev.auditKey(),
                    base, dev.publishKey(), base, dev.auditKey(), token, gateway.tls() == null ? "ws" : "wss", gateway.port()));
        } else if (dev != null) {
            System.out.println("tidings: dev credentials in " + config.dataDir.resolve(DevCredentials.FILE));
        }
        System.out.flush();
        stop.await();
        System.out.println("tidings: shutting down");
        gateway.close();
        System.out.println("tidings: stopped");
        return 0;
    }
}
