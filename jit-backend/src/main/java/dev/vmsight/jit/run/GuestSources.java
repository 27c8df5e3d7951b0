package dev.vmsight.jit.run;

import dev.vmsight.guests.Guest;
import dev.vmsight.guests.LabInstance;
import dev.vmsight.guests.GuestException;
import dev.vmsight.guests.QemuGuest;
import dev.vmsight.guests.QmpClient;
import dev.vmsight.guests.libvirt.LibvirtGuest;
import dev.vmsight.vmi.phys.CachingPhysicalMemory;
import dev.vmsight.vmi.phys.ElfCore;
import dev.vmsight.vmi.phys.MemoryMap;
import dev.vmsight.vmi.phys.PhysicalMemories;
import dev.vmsight.vmi.phys.PhysicalMemory;
import dev.vmsight.vmi.vcpu.VcpuState;
import dev.vmsight.vmi.vcpu.VcpuStates;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * Opens the guest that {@link SourceOptions} name. Live guests are paused first (QMP {@code stop}
 * or virDomainSuspend), then their registers are read from HMP {@code info registers -a} — not
 * through the gdbstub, whose detach would let the guest run again — and they resume when the
 * source is closed, unless they were already paused when opened (someone else paused them: they
 * stay paused). Every failure a user can act on is a {@link GuestException} naming the file,
 * socket, URI or domain.
 */
public final class GuestSources {

    /**
     * A RAM file is guest-physical memory from 0 only below the PCI hole (LAB-NOTES); larger pc
     * guests split around it, so a bigger file without a memory map is refused, not misread.
     */
    static final long IDENTITY_LIMIT = 2L << 30;

    /** libvirt pages kept per run: 64 MiB, a whole task walk without re-peeking. */
    private static final int PEEK_CACHE_PAGES = 16_384;

    private static final Duration QMP_TIMEOUT = Duration.ofSeconds(10);

    private GuestSources() {}

    /** Opens the guest {@code spec} names, with the registers of vCPU {@code cpu}; the caller closes it (which resumes a paused live guest). */
    public static GuestSource open(GuestSpec spec, int cpu) {
        return open(spec, cpu, true);
    }

    /**
     * As {@link #open(GuestSpec, int)}; with {@code pause} false a live guest keeps running while
     * the source is open: its registers are read as HMP shows them and its memory changes under
     * the monitor (a run may then refuse, or see a list mid-update). For measuring what pausing buys.
     */
    public static GuestSource open(GuestSpec spec, int cpu, boolean pause) {
        if (spec == null) throw new GuestException("no guest given: use --lab, --shm FILE, --libvirt URI --domain NAME or --dump FILE");
        if (cpu < 0) throw new GuestException("--cpu must be 0 or more, not " + cpu);
        if (spec instanceof GuestSpec.Lab l) return lab(l.lab(), l.name(), cpu, pause);
        if (spec instanceof GuestSpec.RamFile r) return shm(r, cpu, pause);
        if (spec instanceof GuestSpec.Libvirt v) return libvirt(v.uri(), v.domain(), v.memory(), cpu, pause);
        return dump(((GuestSpec.Dump) spec).file(), cpu);    // the last of the sealed four
    }

    private static GuestSource lab(dev.vmsight.guests.LabLayout layout, String name, int cpu, boolean pause) {
        Guest guest = LabInstance.attach(layout, name);
        if (guest instanceof QemuGuest q) {
            return of(q, cpu, pause, () -> LabInstance.release(guest));  // of() releases on its own failures
        }
        Runnable release = () -> LabInstance.release(guest);
        try {
            if (guest instanceof LibvirtGuest l) {
                Paused paused = pause ? pause(l, release) : new Paused(release, false);
                release = paused.release();
                String where = "lab domain '" + name + "'";
                VcpuState vcpu = hmpCpu(l.hmp("info registers -a"), cpu, where);
                PhysicalMemory memory = l.ramFileMemory();
                return new GuestSource("lab domain '" + name + "' at " + l.uri() + " (RAM file " + l.ramFile()
                        + ", HMP registers of vCPU " + cpu + (pause ? "" : "; not paused") + ")", memory, vcpu, cpu, true, release,
                        paused.byThisSource() ? resampler(l::resume, l::pause, () -> l.hmp("info registers -a"), cpu, where, () -> { }) : null);
            }
            throw new GuestException("lab guest '" + name + "' is of an unknown kind: " + guest.getClass().getName());
        } catch (RuntimeException e) {
            release.run();
            throw e;
        }
    }

    /**
     * What pausing a guest left: {@code release} is what closing the source must do, and {@code
     * byThisSource} says whether the guest was running (a guest someone else paused stays paused,
     * and is never resumed, not even for a moment).
     */
    private record Paused(Runnable release, boolean byThisSource) { }

    /**
     * Pauses {@code guest}; closing must resume it if it was running, then run {@code afterwards},
     * even if resuming fails.
     */
    private static Paused pause(Guest guest, Runnable afterwards) {
        boolean wasRunning = guest.running();
        guest.pause();
        return new Paused(() -> {
            try {
                if (wasRunning) guest.resume();
            } finally {
                afterwards.run();
            }
        }, wasRunning);
    }

    /**
     * Resumes a guest (which this source paused) for {@code run}, pauses it again, drops what
     * was cached of its memory and reads vCPU {@code cpu} anew. The guest is paused again even when
     * the wait is interrupted: a source never leaves a guest running that it holds paused.
     */
    private static GuestSource.Resampler resampler(Runnable resume, Runnable pause, java.util.function.Supplier<String> registers,
                                                   int cpu, String where, Runnable invalidate) {
        return run -> {
            resume.run();
            try {
                Thread.sleep(run.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                pause.run();
            }
            invalidate.run();
            return hmpCpu(registers.get(), cpu, where);
        };
    }

    /**
     * A QEMU guest this process holds (the demo's, a test's): paused now, read through its RAM
     * file with HMP registers, resumed on close (the guest itself stays the caller's).
     */
    public static GuestSource of(QemuGuest guest, int cpu) {
        return of(guest, cpu, true, () -> { });
    }

    private static GuestSource of(QemuGuest q, int cpu, boolean pause, Runnable afterwards) {
        Paused paused;
        try {
            paused = pause ? pause(q, afterwards) : new Paused(afterwards, false);
        } catch (RuntimeException e) {
            afterwards.run();
            throw e;
        }
        Runnable release = paused.release();
        try {
            String where = "lab guest '" + q.name() + "'";
            VcpuState vcpu = hmpCpu(q.hmp("info registers -a"), cpu, where);
            PhysicalMemory memory = ramFile(q.ramFile());
            return new GuestSource("lab guest '" + q.name() + "' (QEMU PID " + q.pid() + ", RAM file " + q.ramFile()
                    + ", HMP registers of vCPU " + cpu + (pause ? "" : "; not paused") + ")", memory, vcpu, cpu, true, release,
                    paused.byThisSource() ? resampler(q::resume, q::pause, () -> q.hmp("info registers -a"), cpu, where, () -> { }) : null);
        } catch (RuntimeException e) {
            release.run();
            throw e;
        }
    }

    private static GuestSource shm(GuestSpec.RamFile shm, int cpu, boolean pause) {
        if (shm.qmp() == null && shm.vcpuText() == null) {
            throw new GuestException("--shm " + shm.file() + " needs the registers too: --qmp SOCKET or --vcpu FILE (HMP 'info registers' text)");
        }
        if (shm.qmp() != null && shm.vcpuText() != null) {
            throw new GuestException("--shm takes its registers from --qmp or from --vcpu, not both");
        }
        if (shm.vcpuText() != null) {
            String text = readText(shm.vcpuText(), "--vcpu");
            VcpuState vcpu = hmpCpu(text, cpu, shm.vcpuText().toString());
            PhysicalMemory memory = ramFile(shm.file());
            return new GuestSource("RAM file " + shm.file() + " (registers from " + shm.vcpuText() + "; the guest is not paused)",
                    memory, vcpu, cpu, false, () -> { });
        }
        if (!Files.exists(shm.qmp())) {
            throw new GuestException("cannot reach QMP at " + shm.qmp() + ": no such socket (is QEMU running with -qmp unix:" + shm.qmp() + ",server=on?)");
        }
        PhysicalMemory memory = ramFile(shm.file());
        QmpClient qmp;
        try {
            qmp = QmpClient.connect(shm.qmp(), QMP_TIMEOUT);
        } catch (RuntimeException e) {
            memory.close();
            throw new GuestException("cannot reach QMP at " + shm.qmp() + ": " + e.getMessage(), e);
        }
        boolean wasRunning;
        try {
            wasRunning = pause && qmp.execute("query-status", null, QMP_TIMEOUT).path("status").asText().equals("running");
        } catch (RuntimeException e) {
            qmp.close();
            memory.close();
            throw e;
        }
        try {
            if (wasRunning) qmp.execute("stop", null, QMP_TIMEOUT);
            String text = qmp.execute("human-monitor-command", QmpClient.args().put("command-line", "info registers -a"), QMP_TIMEOUT).asText();
            VcpuState vcpu = hmpCpu(text, cpu, "QMP " + shm.qmp());
            return new GuestSource("RAM file " + shm.file() + " (" + (wasRunning ? "guest paused" : "guest not paused by vmsight")
                    + " through QMP " + shm.qmp() + ", HMP registers of vCPU " + cpu + ")",
                    memory, vcpu, cpu, true, () -> {
                        try {
                            if (wasRunning) qmp.execute("cont", null, QMP_TIMEOUT);
                        } finally {
                            qmp.close();
                        }
                    }, wasRunning ? resampler(() -> qmp.execute("cont", null, QMP_TIMEOUT), () -> qmp.execute("stop", null, QMP_TIMEOUT),
                            () -> qmp.execute("human-monitor-command", QmpClient.args().put("command-line", "info registers -a"),
                                    QMP_TIMEOUT).asText(), cpu, "QMP " + shm.qmp(), () -> { }) : null);
        } catch (RuntimeException e) {
            try {
                if (wasRunning) qmp.execute("cont", null, QMP_TIMEOUT);
            } catch (RuntimeException ignored) {
                // the first failure is the one to report
            } finally {
                qmp.close();
                memory.close();
            }
            throw e;
        }
    }

    private static GuestSource libvirt(String uri, String domain, GuestSpec.LibvirtMemory how, int cpu, boolean pause) {
        LibvirtGuest guest = LibvirtGuest.attach(uri, domain);
        Runnable release = guest::disconnect;
        try {
            Paused paused = pause ? pause(guest, release) : new Paused(release, false);
            release = paused.release();
            String where = "libvirt domain " + domain + " at " + uri;
            VcpuState vcpu = hmpCpu(guest.hmp("info registers -a"), cpu, where);
            PhysicalMemory ramFile = how == GuestSpec.LibvirtMemory.AUTO ? localRamFile(guest, uri) : null;
            PhysicalMemory memory;
            Runnable invalidate;
            String via;
            if (ramFile != null) {
                memory = ramFile;             // read in place: nothing cached, nothing to invalidate
                invalidate = () -> { };
                via = "its file-backed RAM, mapped read-only";
            } else {
                CachingPhysicalMemory peek = new CachingPhysicalMemory(guest.physicalMemory(), PEEK_CACHE_PAGES);
                memory = peek;
                invalidate = peek::invalidate;
                via = "virDomainMemoryPeek";
            }
            return new GuestSource("libvirt domain " + domain + " at " + uri + " (" + via + ", HMP registers of vCPU " + cpu + ")",
                    memory, vcpu, cpu, true, release,
                    paused.byThisSource() ? resampler(guest::resume, guest::pause, () -> guest.hmp("info registers -a"), cpu, where,
                            invalidate) : null);
        } catch (RuntimeException e) {
            release.run();
            throw e;
        }
    }

    /**
     * The domain's RAM file when the connection is to this host's libvirtd ({@code qemu:///...}) and
     * QEMU's memory-backend-file can be read here, else null (memoryPeek then): about a thousand times
     * faster than 64 KiB peeks, and the same bytes (LiveSourcesLabTest compares them).
     */
    private static PhysicalMemory localRamFile(LibvirtGuest guest, String uri) {
        if (!uri.startsWith("qemu:///")) return null;     // qemu+ssh://host/system: the file is on another machine
        try {
            return guest.ramFileMemory();
        } catch (GuestException | dev.vmsight.vmi.VmiException | java.io.UncheckedIOException e) {
            return null;                                   // no file backing, or not readable by this user: peek
        }
    }

    private static GuestSource dump(Path file, int cpu) {
        requireFile(file, "--dump");
        ElfCore core = PhysicalMemories.elfCore(file);
        try {
            List<dev.vmsight.vmi.phys.CoreCpuState> cpus = core.cpus();
            if (cpus.isEmpty()) throw new GuestException("ELF dump " + file + " has no CPU notes: registers unknown");
            if (cpu >= cpus.size()) throw new GuestException("ELF dump " + file + " has " + cpus.size() + " vCPU(s), no vCPU " + cpu);
            VcpuState vcpu = VcpuStates.fromCore(cpus.get(cpu), file.toString());
            return new GuestSource("ELF dump " + file + " (CPU notes of vCPU " + cpu + ")", core, vcpu, cpu, false, () -> { });
        } catch (RuntimeException e) {
            core.close();
            throw e;
        }
    }

    /** A saved snapshot (the tracer's START snapshots): its RAM and registers, one moment, not live. */
    public static GuestSource snapshot(Path file) {
        requireFile(file, "snapshot");
        dev.vmsight.vmi.snapshot.Snapshot snap = dev.vmsight.vmi.snapshot.Snapshot.open(file);
        return new GuestSource("snapshot " + file, snap, snap.registers(), false, () -> { });
    }

    /** The block of vCPU {@code cpu} in HMP {@code info registers -a} text (or plain {@code info registers}). */
    static VcpuState hmpCpu(String text, int cpu, String where) {
        List<String> blocks = VcpuStates.hmpCpuBlocks(text);
        if (blocks.isEmpty()) {
            throw new GuestException(where + ": no registers in the HMP text (expected the output of 'info registers')");
        }
        if (cpu >= blocks.size()) {
            throw new GuestException(where + " has " + blocks.size() + " vCPU(s), no vCPU " + cpu);
        }
        try {
            return VcpuStates.fromHmp(blocks.get(cpu), "HMP info registers of vCPU " + cpu + " (" + where + ")");
        } catch (IllegalArgumentException e) {
            throw new GuestException(where + ": unreadable HMP registers: " + e.getMessage(), e);
        }
    }

    static PhysicalMemory ramFile(Path file) {
        checkIvshmem(file);
        requireFile(file, "RAM file");
        long size;
        try {
            size = Files.size(file);
        } catch (IOException e) {
            throw new GuestException("cannot read RAM file " + file + ": " + e.getMessage(), e);
        }
        if (size == 0 || size % 4096 != 0) {
            throw new GuestException("RAM file " + file + " is " + size + " bytes, not a whole number of 4 KiB pages: not guest RAM");
        }
        if (size > IDENTITY_LIMIT) {
            throw new GuestException("RAM file " + file + " is " + (size >> 20) + " MiB: above 2 GiB a pc guest's RAM is split "
                    + "around the PCI hole; use --libvirt, which reads QEMU's memory map");
        }
        return PhysicalMemories.ramFile(file, MemoryMap.identity(size));
    }

    /**
     * A security VM reads a watched guest's RAM from an ivshmem-plain device's BAR 2
     * ({@code /sys/bus/pci/devices/ADDR/resource2}, mapped read-only). A wrong address would map
     * some other device's registers: the device must be ivshmem (vendor 0x1af4, device 0x1110).
     */
    private static void checkIvshmem(Path file) {
        Path dev = file.getParent();
        if (dev == null || dev.getParent() == null || !dev.getParent().equals(Path.of("/sys/bus/pci/devices"))) return;
        if (!Files.isDirectory(dev)) {
            throw new GuestException("no PCI device " + dev.getFileName() + " in this VM (" + dev + "): is the watched guest's "
                    + "ivshmem-plain device at that address?");
        }
        String vendor = readText(dev.resolve("vendor"), "PCI vendor").strip(), device = readText(dev.resolve("device"), "PCI device").strip();
        if (!vendor.equals("0x1af4") || !device.equals("0x1110")) {
            throw new GuestException("PCI device " + dev.getFileName() + " is " + vendor + ":" + device
                    + ", not an ivshmem device (0x1af4:0x1110): its BAR is not a guest's RAM");
        }
    }

    private static void requireFile(Path file, String what) {
        if (!Files.isRegularFile(file)) {
            throw new GuestException(what + " " + file + " does not exist or is not a regular file");
        }
        if (!Files.isReadable(file)) {
            throw new GuestException(what + " " + file + " is not readable (permissions)");
        }
    }

    private static String readText(Path file, String what) {
        requireFile(file, what);
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new GuestException("cannot read " + what + " " + file + ": " + e.getMessage(), e);
        }
    }
}
