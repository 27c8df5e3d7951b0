package dev.vmsight.cli;

import dev.vmsight.guests.LabInstance;

import dev.vmsight.guests.Guest;
import dev.vmsight.guests.GuestException;
import dev.vmsight.guests.LabLayout;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Option;

/** {@code vmsight lab stop}: stop the running lab guest and forget it. */
@Command(name = "stop", mixinStandardHelpOptions = true, description = "Stop the running lab guest.")
final class LabStopCommand implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Option(names = "--name", defaultValue = Labs.DEFAULT_NAME, description = "instance name (default: ${DEFAULT-VALUE})")
    String name;

    @Override
    public Integer call() {
        LabLayout lab = Labs.layout();
        LabInstance.load(lab.runDir(name), name); // a clear error when nothing was booted
        Guest guest;
        try {
            guest = Labs.attach(lab, name);
        } catch (GuestException gone) {
            LabInstance.delete(lab.runDir(name));
            spec.commandLine().getOut().println("lab guest '" + name + "' was not running any more (" + gone.getMessage() + "); forgot it");
            return 0;
        }
        guest.close();
        LabInstance.delete(lab.runDir(name));
        spec.commandLine().getOut().println("lab guest '" + name + "' stopped");
        return 0;
    }
}
