package dev.vmsight.cli;

import dev.vmsight.guests.Guest;
import dev.vmsight.guests.KernelPackage;
import dev.vmsight.guests.LabLayout;
import dev.vmsight.guests.LabRootkit;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code vmsight lab rootkit hide PID --mode fops|ftrace} and {@code vmsight lab rootkit unload}: the lab rootkit in the running guest. */
@Command(name = "rootkit", mixinStandardHelpOptions = true,
        description = "Load or unload the lab rootkit (guests/rootkit: hides one PID from the guest's /proc) in the running lab guest.")
final class LabRootkitCommand implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "ACTION", description = "hide or unload")
    String action;

    @Parameters(index = "1", arity = "0..1", paramLabel = "PID", description = "the guest PID to hide (hide only)")
    Integer pid;

    @Option(names = "--mode", defaultValue = "ftrace", description = "fops (data hook: /proc's file_operations), ftrace (code patch: filldir64) or sct (sys_call_table entry: inert on this kernel); default ${DEFAULT-VALUE}")
    String mode;

    @Option(names = "--name", defaultValue = Labs.DEFAULT_NAME, description = "instance name (default: ${DEFAULT-VALUE})")
    String name;

    @Override
    public Integer call() {
        LabLayout lab = Labs.layout();
        Guest guest = Labs.attach(lab, name);
        try {
            switch (action) {
                case "hide" -> {
                    if (pid == null) throw new picocli.CommandLine.ParameterException(spec.commandLine(), "hide needs the PID to hide");
                    LabRootkit.Mode m = LabRootkit.Mode.parse(mode);
                    Path module = lab.buildRootkit(KernelPackage.parse(guest.config().kernel().getParent().getFileName().toString()));
                    LabRootkit.load(guest, module, pid, m);
                    spec.commandLine().getOut().println(m == LabRootkit.Mode.SCT
                            ? "sys_call_table[getdents64] replaced in '" + name + "' to hide PID " + pid + " (" + LabRootkit.MODULE
                                    + ", mode sct; calls that reach it: /sys/module/" + LabRootkit.MODULE + "/parameters/sct_calls)"
                            : "PID " + pid + " hidden from /proc in '" + name + "' (" + LabRootkit.MODULE + ", mode " + m.parameter() + ")");
                }
                case "unload" -> {
                    LabRootkit.unload(guest);
                    spec.commandLine().getOut().println(LabRootkit.MODULE + " unloaded from '" + name + "'");
                }
                default -> throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                        "unknown action '" + action + "': use hide PID or unload");
            }
            return 0;
        } finally {
            Labs.release(guest);
        }
    }
}
