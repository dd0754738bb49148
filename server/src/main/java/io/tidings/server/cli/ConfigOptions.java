package io.tidings.server.cli;

import io.tidings.server.GatewayConfig;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;

/** The options every command that reads the gateway's configuration shares. Flags win over file and environment. */
public final class ConfigOptions {
    @Option(names = "--config", description = "YAML config file.")
    Path config;

    @Option(names = "--data-dir", description = "Data directory (default ./data).")
    Path dataDir;

    @Option(names = "--port", description = "HTTP/WebSocket port; 0 = any free port (default 8080).")
    Integer port;

    @Option(names = "--host", description = "Address to listen on (default 0.0.0.0).")
    String host;

    public GatewayConfig load() throws IOException {
        GatewayConfig c = GatewayConfig.load(config, System.getenv());
        if (dataDir != null) c.dataDir = dataDir;
        if (port != null) c.port = port;
        if (host != null) c.host = host;
        return c;
    }
}
