package io.tidings.server.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code tidings}: the command line. {@code serve} is the main command. */
@Command(name = "tidings", mixinStandardHelpOptions = true, version = "tidings 0.1.0",
        description = "Durable notification gateway.",
        subcommands = {ServeCommand.class, TokenCommand.class, TailCommand.class, LogCommand.class})
public final class TidingsCli implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** Held so the level sticks: java.util.logging keeps loggers weakly. */
    private static final java.util.logging.Logger CHRONICLE_LOG = java.util.logging.Logger.getLogger("net.openhft");

    public static void main(String[] args) {
        System.setProperty("chronicle.analytics.disable", "true");
        System.setProperty("chronicle.announcer.disable", "true");
        // With -ea Chronicle tracks every thread-local value it makes, and each new log reader then scans
        // all earlier ones (quadratic: docs/reliability.md). Off, as it is without -ea.
        System.setProperty("disable.ctl.orphan.tracking", "true");
        System.setProperty("java.util.logging.SimpleFormatter.format", "%1$tFT%1$tT.%1$tLZ %4$s %3$s: %5$s%6$s%n");
        CHRONICLE_LOG.setLevel(java.util.logging.Level.WARNING);
        System.exit(new CommandLine(new TidingsCli()).execute(args)); // serve returns once it has shut down
    }
}
