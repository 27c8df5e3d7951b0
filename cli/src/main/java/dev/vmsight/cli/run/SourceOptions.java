package dev.vmsight.cli.run;

import dev.vmsight.jit.run.GuestSpec;

import java.nio.file.Path;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Option;

/**
 * The guest a command reads, exactly one of: {@code --lab [NAME]}, {@code --shm FILE} (with
 * {@code --qmp SOCKET} or {@code --vcpu FILE} for the registers), {@code --libvirt URI --domain
 * NAME}, {@code --dump FILE}; plus {@code --cpu N}, the vCPU whose registers are used.
 * {@link #spec()} is the library's value for it ({@code dev.vmsight.jit.run.GuestSpec}).
 */
public final class SourceOptions {

    /** One of the four kinds of source, as picocli parsed it. */
    @ArgGroup(exclusive = true, multiplicity = "1")
    Choice choice;

    @Option(names = "--cpu", paramLabel = "N", defaultValue = "0",
            description = "vCPU whose registers are used (default: ${DEFAULT-VALUE})")
    int cpu;

    static final class Choice {
        @Option(names = "--lab", paramLabel = "NAME", arity = "0..1", fallbackValue = "vmsight",
                description = "the running lab guest ('vmsight lab boot'; default name vmsight): its RAM file and HMP registers")
        String lab;

        @ArgGroup(exclusive = false)
        Shm shm;

        @ArgGroup(exclusive = false)
        Libvirt libvirt;

        @Option(names = "--dump", paramLabel = "FILE",
                description = "a memory-only ELF core (virsh dump --memory-only, QMP dump-guest-memory): memory and CPU notes")
        Path dump;
    }

    static final class Shm {
        @Option(names = "--shm", paramLabel = "FILE", required = true,
                description = "a shared guest RAM file (QEMU memory-backend-file, guest-physical from 0)")
        Path file;

        @Option(names = "--qmp", paramLabel = "SOCKET",
                description = "with --shm: QEMU's QMP socket; the guest is paused and its registers read (HMP info registers)")
        Path qmp;

        @Option(names = "--vcpu", paramLabel = "FILE",
                description = "with --shm: registers as text of HMP 'info registers' (the guest is not paused)")
        Path vcpuText;
    }

    static final class Libvirt {
        @Option(names = "--libvirt", paramLabel = "URI", required = true,
                description = "a libvirt connection, e.g. qemu:///system (memory: the domain's RAM file when it is local and "
                        + "file-backed, else virDomainMemoryPeek)")
        String uri;

        @Option(names = "--domain", paramLabel = "NAME", required = true, description = "with --libvirt: the domain")
        String domain;

        @Option(names = "--peek", description = "with --libvirt: read memory through virDomainMemoryPeek even where the RAM file is readable")
        boolean peek;
    }

    /** Options for a lab guest, for code that builds them rather than parsing a command line. */
    public static SourceOptions lab(String name) {
        SourceOptions o = new SourceOptions();
        o.choice = new Choice();
        o.choice.lab = name;
        return o;
    }

    /** Options for a RAM file with its registers from a QMP socket (qmp may be null: then {@code vcpuText}). */
    public static SourceOptions shm(Path file, Path qmp, Path vcpuText) {
        SourceOptions o = new SourceOptions();
        o.choice = new Choice();
        o.choice.shm = new Shm();
        o.choice.shm.file = file;
        o.choice.shm.qmp = qmp;
        o.choice.shm.vcpuText = vcpuText;
        return o;
    }

    /** Options for a libvirt domain. */
    public static SourceOptions libvirt(String uri, String domain) {
        SourceOptions o = new SourceOptions();
        o.choice = new Choice();
        o.choice.libvirt = new Libvirt();
        o.choice.libvirt.uri = uri;
        o.choice.libvirt.domain = domain;
        return o;
    }

    /** Options for an ELF dump. */
    public static SourceOptions dump(Path file) {
        SourceOptions o = new SourceOptions();
        o.choice = new Choice();
        o.choice.dump = file;
        return o;
    }

    /** The guest these options name (a lab guest in this checkout). */
    public dev.vmsight.jit.run.GuestSpec spec() {
        if (choice == null) return null;
        if (choice.lab != null) return new dev.vmsight.jit.run.GuestSpec.Lab(dev.vmsight.cli.Labs.layout(), choice.lab);
        if (choice.shm != null) return new dev.vmsight.jit.run.GuestSpec.RamFile(choice.shm.file, choice.shm.qmp, choice.shm.vcpuText);
        if (choice.libvirt != null) return new dev.vmsight.jit.run.GuestSpec.Libvirt(choice.libvirt.uri, choice.libvirt.domain,
                choice.libvirt.peek ? dev.vmsight.jit.run.GuestSpec.LibvirtMemory.PEEK : dev.vmsight.jit.run.GuestSpec.LibvirtMemory.AUTO);
        return new dev.vmsight.jit.run.GuestSpec.Dump(choice.dump);
    }

    /** The vCPU whose registers are used. */
    public int cpu() { return cpu; }

    /** Chooses the vCPU whose registers are used; returns these options. */
    public SourceOptions withCpu(int cpu) {
        this.cpu = cpu;
        return this;
    }
}
