package dev.vmsight.cli;

import dev.vmsight.guests.Guest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code vmsight lab dump FILE}: a memory-only ELF core of the running lab guest. */
@Command(name = "dump", mixinStandardHelpOptions = true,
        description = "Write a memory-only ELF core of the running lab guest (QMP dump-guest-memory / virDomainCoreDump).")
final class LabDumpCommand implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Option(names = "--name", defaultValue = Labs.DEFAULT_NAME, description = "instance name (default: ${DEFAULT-VALUE})")
    String name;

    @Parameters(paramLabel = "FILE", description = "where to write the core")
    Path file;

    @Override
    public Integer call() throws IOException {
        Guest guest = Labs.attach(Labs.layout(), name);
        long t0 = System.nanoTime();
        try {
            guest.dumpElf(file);
        } finally {
            Labs.release(guest);
        }
        spec.commandLine().getOut().println("wrote " + file.toAbsolutePath() + " (" + Files.size(file) / (1024 * 1024) + " MiB, "
                + Labs.seconds(System.nanoTime() - t0) + ")");
        return 0;
    }
}
