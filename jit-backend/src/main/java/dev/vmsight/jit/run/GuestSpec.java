package dev.vmsight.jit.run;

import dev.vmsight.guests.LabLayout;
import java.nio.file.Path;

/**
 * Which guest a monitor reads, as a value: a running lab guest by name, a shared RAM file (with
 * its registers from a QMP socket or from HMP text), a libvirt domain, or a memory-only ELF dump.
 * {@link GuestSources#open} turns one into a {@link GuestSource}; the CLI's options and the
 * agent's configuration both build these.
 */
public sealed interface GuestSpec {

    /** A guest started by {@code vmsight lab boot} (QEMU or libvirt), found by instance name in the checkout {@code lab}. */
    record Lab(LabLayout lab, String name) implements GuestSpec { }

    /** A shared guest RAM file; registers through {@code qmp} (the guest is paused) or from {@code vcpuText} (HMP text), one of them. */
    record RamFile(Path file, Path qmp, Path vcpuText) implements GuestSpec { }

    /** A libvirt domain: memory through virDomainMemoryPeek, registers through HMP. */
    record Libvirt(String uri, String domain) implements GuestSpec { }

    /** A memory-only ELF core (virsh dump --memory-only, QMP dump-guest-memory): memory and CPU notes. */
    record Dump(Path file) implements GuestSpec { }
}
