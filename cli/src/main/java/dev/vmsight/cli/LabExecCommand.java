package dev.vmsight.cli;

import dev.vmsight.guests.ExecResult;
import dev.vmsight.guests.Guest;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code vmsight lab exec -- CMD...}: run a command in the running lab guest through qemu-guest-agent. */
@Command(name = "exec", mixinStandardHelpOptions = true,
        description = "Run a command in the running lab guest (qemu-guest-agent); prints its output, exits with its code.")
final class LabExecCommand implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Option(names = "--name", defaultValue = Labs.DEFAULT_NAME, description = "instance name (default: ${DEFAULT-VALUE})")
    String name;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "60", description = "(default: ${DEFAULT-VALUE})")
    int timeoutSeconds;

    @Parameters(arity = "1..*", paramLabel = "CMD", description = "the command and its arguments (after --), e.g. -- /training/pslist")
    List<String> command;

    @Override
    public Integer call() {
        Guest guest = Labs.attach(Labs.layout(), name);
        try {
            ExecResult r = guest.exec(Duration.ofSeconds(timeoutSeconds), command);
            spec.commandLine().getOut().print(r.stdout());
            spec.commandLine().getOut().flush();
            spec.commandLine().getErr().print(r.stderr());
            spec.commandLine().getErr().flush();
            return r.exitCode();
        } finally {
            Labs.release(guest);
        }
    }
}
