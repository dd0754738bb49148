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

    public static void main(String[] args) {
        System.setProperty("chronicle.analytics.disable", "true");
        System.setProperty("chronicle.announcer.disable", "true");
        System.exit(new CommandLine(new TidingsCli()).execute(args)); // serve returns once it has shut down
    }
}
