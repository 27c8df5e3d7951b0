package dev.vmsight.cli;

import picocli.CommandLine.Command;

/** {@code vmsight lab ...}: build, boot, use and stop the lab guest. */
@Command(name = "lab", description = "Build, boot, use and stop the lab guest.",
        mixinStandardHelpOptions = true,
        subcommands = {LabBuildCommand.class, LabBootCommand.class, LabExecCommand.class, LabDumpCommand.class,
                LabStopCommand.class, LabRootkitCommand.class, LabBootSecurityVmCommand.class})
final class LabCommand implements Runnable {
    @Override
    public void run() {
        new picocli.CommandLine(this).usage(System.out);
    }
}
