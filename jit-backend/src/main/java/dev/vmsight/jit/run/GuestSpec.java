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

    /**
     * A libvirt domain, registers through HMP. Memory: with {@link LibvirtMemory#AUTO}, the domain's
     * file-backed RAM when the connection is local and QEMU's RAM file is readable here (what
     * libvirt's {@code <memoryBacking><source type='file'/>} gives), else virDomainMemoryPeek;
     * {@link LibvirtMemory#PEEK}: always virDomainMemoryPeek.
     */
    record Libvirt(String uri, String domain, LibvirtMemory memory) implements GuestSpec {
        public Libvirt {
            java.util.Objects.requireNonNull(memory, "memory");
        }

        /** The domain's RAM file where it can be read, else memoryPeek. */
        public Libvirt(String uri, String domain) {
            this(uri, domain, LibvirtMemory.AUTO);
        }
    }

    /** How a libvirt domain's memory is read. */
    enum LibvirtMemory { AUTO, PEEK }

    /** A memory-only ELF core (virsh dump --memory-only, QMP dump-guest-memory): memory and CPU notes. */
    record Dump(Path file) implements GuestSpec { }
}
