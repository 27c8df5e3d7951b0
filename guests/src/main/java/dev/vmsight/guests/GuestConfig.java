package dev.vmsight.guests;

import java.nio.file.Path;
import java.util.Objects;

/**
 * How to boot a lab guest; shared by the QEMU and libvirt launchers.
 *
 * @param name      instance name (sockets, RAM file and libvirt domain are named after it)
 * @param kernel    the bzImage (from the Debian package)
 * @param initramfs the lab initramfs built by guests/
 * @param memoryMiB guest RAM
 * @param cpus      vCPUs (1 by default; 2 to 8 on request: QEMU TCG runs them on one host thread each)
 * @param kaslr     false boots with {@code nokaslr}
 * @param procs     number of named sleeper processes the workload launcher starts
 * @param runDir    where sockets, logs and state files of this instance live
 * @param cpuModel  the QEMU CPU model the vCPUs present ({@link #DEFAULT_CPU_MODEL}, or any model
 *                  QEMU's TCG runs, e.g. Skylake-Server-v4): the kernel patches itself at boot by
 *                  the features it sees, so the model is part of what a monitor was trained on
 * @param dentryHashEntries buckets of the kernel's dentry hash table ({@code dhash_entries=}, a
 *                  power of two), or 0 for the kernel's own choice by memory size: training boots
 *                  vary it so that a name's first lookup meets an empty bucket and a crowded one
 */
public record GuestConfig(String name, Path kernel, Path initramfs, int memoryMiB, int cpus,
                          boolean kaslr, int procs, Path runDir, String cpuModel, int dentryHashEntries) {

    /** QEMU's own default for x86-64 TCG guests, and the lab's. */
    public static final String DEFAULT_CPU_MODEL = "qemu64";

    /** A configuration on the default CPU model. */
    public GuestConfig(String name, Path kernel, Path initramfs, int memoryMiB, int cpus, boolean kaslr, int procs, Path runDir) {
        this(name, kernel, initramfs, memoryMiB, cpus, kaslr, procs, runDir, DEFAULT_CPU_MODEL);
    }

    /** A configuration whose kernel sizes its dentry hash table itself. */
    public GuestConfig(String name, Path kernel, Path initramfs, int memoryMiB, int cpus, boolean kaslr, int procs, Path runDir,
                       String cpuModel) {
        this(name, kernel, initramfs, memoryMiB, cpus, kaslr, procs, runDir, cpuModel, 0);
    }

    public GuestConfig {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(kernel, "kernel");
        Objects.requireNonNull(initramfs, "initramfs");
        Objects.requireNonNull(runDir, "runDir");
        if (memoryMiB < 64) throw new IllegalArgumentException("memory must be at least 64 MiB, not " + memoryMiB);
        if (cpus < 1 || cpus > 8) throw new IllegalArgumentException("cpus must be 1 to 8, not " + cpus);
        if (procs < 0) throw new IllegalArgumentException("procs must be >= 0, not " + procs);
        Objects.requireNonNull(cpuModel, "cpuModel");
        if (!cpuModel.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,63}")) {
            throw new IllegalArgumentException("CPU model '" + cpuModel + "' is not a QEMU model name (qemu-system-x86_64 -cpu help lists them)");
        }
        if (dentryHashEntries != 0 && (dentryHashEntries < 0 || Integer.bitCount(dentryHashEntries) != 1)) {
            throw new IllegalArgumentException("dentry hash entries must be 0 (the kernel's choice) or a power of two, not "
                    + dentryHashEntries);
        }
    }

    /** The kernel command line this configuration implies. */
    public String kernelCommandLine() {
        return "console=ttyS0 panic=-1 " + (kaslr ? "" : "nokaslr ") + "vmsight.procs=" + procs
                + (dentryHashEntries == 0 ? "" : " dhash_entries=" + dentryHashEntries);
    }

    public GuestConfig withName(String n) { return new GuestConfig(n, kernel, initramfs, memoryMiB, cpus, kaslr, procs, runDir, cpuModel, dentryHashEntries); }
    public GuestConfig withKaslr(boolean k) { return new GuestConfig(name, kernel, initramfs, memoryMiB, cpus, k, procs, runDir, cpuModel, dentryHashEntries); }
    public GuestConfig withProcs(int p) { return new GuestConfig(name, kernel, initramfs, memoryMiB, cpus, kaslr, p, runDir, cpuModel, dentryHashEntries); }
    public GuestConfig withCpus(int c) { return new GuestConfig(name, kernel, initramfs, memoryMiB, c, kaslr, procs, runDir, cpuModel, dentryHashEntries); }
    public GuestConfig withMemoryMiB(int m) { return new GuestConfig(name, kernel, initramfs, m, cpus, kaslr, procs, runDir, cpuModel, dentryHashEntries); }
    public GuestConfig withCpuModel(String m) { return new GuestConfig(name, kernel, initramfs, memoryMiB, cpus, kaslr, procs, runDir, m, dentryHashEntries); }
    public GuestConfig withDentryHashEntries(int e) { return new GuestConfig(name, kernel, initramfs, memoryMiB, cpus, kaslr, procs, runDir, cpuModel, e); }
    public GuestConfig withRunDir(Path d) { return new GuestConfig(name, kernel, initramfs, memoryMiB, cpus, kaslr, procs, d, cpuModel, dentryHashEntries); }
}
