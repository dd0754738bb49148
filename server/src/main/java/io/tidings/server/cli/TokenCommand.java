package io.tidings.server.cli;

import io.tidings.server.DevCredentials;
import io.tidings.server.GatewayConfig;
import io.tidings.server.auth.TokenVerifier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code tidings token --sub alice --room teamspaceA …}: mints a subscriber token with the configured secret. */
@Command(name = "token", description = "Mint a subscriber token (JWT, HS256) with the configured secret.")
public final class TokenCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions options;

    @Option(names = "--sub", required = true, description = "Subject (user id); user/<sub> is always granted.")
    String sub;

    @Option(names = "--room", description = "Granted room prefix (repeatable).")
    List<String> rooms = List.of();

    @Option(names = "--ttl", defaultValue = "PT24H", description = "Lifetime, ISO-8601 duration (default PT24H).")
    Duration ttl;

    @Override
    public Integer call() throws Exception {
        GatewayConfig config = options.load();
        String secret = config.jwtSecret.isEmpty() ? DevCredentials.loadOrCreate(config.dataDir).jwtSecret() : config.jwtSecret;
        System.out.println(new TokenVerifier(secret).mint(sub, rooms, ttl));
        return 0;
    }
}
