package dev.vmsight.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code vmsight} command. Each pipeline stage contributes its subcommands here; errors a
 * user can act on are printed as one line ("vmsight: ..."), with the stack trace only when
 * {@code VMSIGHT_DEBUG} is set.
 */
@Command(name = "vmsight",
        mixinStandardHelpOptions = true,
        version = "vmsight 0.1.0",
        description = "Virtual-machine introspection programs generated from whole-system traces.",
        subcommands = {DemoCommand.class, DemoAgentCommand.class, AgentCommand.class, TrainCommand.class, ReliabilityCommand.class, MatrixCommand.class, LabCommand.class, VerifyCommand.class, TraceCommand.class, dev.vmsight.cli.run.RunCommand.class, TraceInfoCommand.class, SliceCommand.class, MergeCommand.class, InspectCommand.class, CrossvalCommand.class, CommandLine.HelpCommand.class})
public final class Vmsight implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The configured command line, shared by {@link #main} and the CLI tests. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Vmsight());
        cl.setExecutionExceptionHandler((ex, line, parsed) -> {
            line.getErr().println("vmsight: " + describe(ex));
            if (System.getenv("VMSIGHT_DEBUG") != null) {
                ex.printStackTrace(line.getErr());
            }
            return 2;
        });
        return cl;
    }

    private static String describe(Throwable ex) {
        String msg = ex.getMessage();
        if (msg == null || msg.isBlank()) {
            msg = ex.getClass().getSimpleName();
        }
        return msg.replace('\n', ' ');
    }
}
