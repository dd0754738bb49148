package io.tidings.server.cli;

import io.tidings.server.DevCredentials;
import io.tidings.server.Gateway;
import io.tidings.server.GatewayConfig;
import io.tidings.server.auth.TokenVerifier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/** {@code tidings serve}: runs the gateway until SIGTERM/SIGINT, then shuts down gracefully. */
@Command(name = "serve", description = "Run the gateway.")
public final class ServeCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions options;

    @Override
    public Integer call() throws Exception {
        GatewayConfig config = options.load();
        Gateway gateway = Gateway.start(config);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("tidings: shutting down");
            gateway.close();
            stopped.countDown();
        }, "tidings-shutdown"));
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
        stopped.await();
        return 0;
    }
}
