package dev.vmsight.cli;

import dev.vmsight.guests.Guest;
import dev.vmsight.vmi.phys.PhysicalMemories;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
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

    @Option(names = "--vmcoreinfo", description = "load the guest's qemu_fw_cfg first, so that the core carries the kernel's "
            + "VMCOREINFO note (drgn and crash need it); the guest then has one more module loaded")
    boolean vmcoreinfo;

    @Option(names = "--paging", description = "a paging core: one segment per virtual mapping, with its virtual address "
            + "(Debian 12's drgn 0.0.22 cannot translate addresses of a guest whose phys_base is 0 without it)")
    boolean paging;

    @Parameters(paramLabel = "FILE", description = "where to write the core")
    Path file;

    /** Loads qemu_fw_cfg unless it is loaded or built in: on probe it writes VMCOREINFO to QEMU's vmcoreinfo device. */
    static final String LOAD_FW_CFG = "[ -d /sys/firmware/qemu_fw_cfg ] && exit 0; m=$(cat /etc/vmsight/fw_cfg.module 2>/dev/null); "
            + "[ -n \"$m\" ] || { echo 'this lab image ships no qemu_fw_cfg module (rebuild it: vmsight lab build)' >&2; exit 3; }; "
            + "insmod \"$m\"";

    @Override
    public Integer call() throws IOException {
        Guest guest = Labs.attach(Labs.layout(), name);
        long t0 = System.nanoTime();
        try {
            if (vmcoreinfo) {
                guest.exec(Duration.ofSeconds(60), List.of("/bin/sh", "-c", LOAD_FW_CFG)).stdoutOrThrow("loading qemu_fw_cfg in the guest");
            }
            guest.dumpElf(file, paging);
        } finally {
            Labs.release(guest);
        }
        if (vmcoreinfo && !hasVmcoreinfo(file)) {
            throw new IllegalStateException(file + " has no VMCOREINFO note: the guest's QEMU has no vmcoreinfo device "
                    + "(a guest started before it was added: stop and boot it again), or its kernel did not write it");
        }
        spec.commandLine().getOut().println("wrote " + file.toAbsolutePath() + " (" + Files.size(file) / (1024 * 1024) + " MiB, "
                + Labs.seconds(System.nanoTime() - t0) + ")");
        return 0;
    }

    /** Whether the core's notes hold one named VMCOREINFO. */
    static boolean hasVmcoreinfo(Path core) {
        try (var elf = PhysicalMemories.elfCore(core)) {
            return elf.noteNames().contains("VMCOREINFO");
        }
    }
}
