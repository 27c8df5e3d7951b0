package dev.vmsight.jit.run;

import dev.vmsight.vmi.phys.PhysicalMemory;
import dev.vmsight.vmi.vcpu.VcpuState;
import java.time.Duration;

/**
 * Where a monitor reads a guest: its guest-physical memory and the state of one vCPU, taken at
 * one moment. A live guest (the lab guest, a libvirt domain, a RAM file with a QMP socket) is
 * paused from {@link GuestSources#open} until {@link #close()}, so that memory and registers
 * stay consistent while monitors run; a dump is consistent by construction.
 */
public final class GuestSource implements AutoCloseable {

    private final String description;
    private final PhysicalMemory memory;
    private VcpuState vcpu;
    private final int cpu;
    private final boolean live;
    private final Runnable release;
    private final Resampler resampler;
    private boolean closed;

    /**
     * Lets a guest vmsight paused run for a moment and pauses it again, returning the registers of
     * the same vCPU at the new moment (and dropping anything cached of its memory).
     */
    @FunctionalInterface
    public interface Resampler {
        VcpuState resample(Duration run);
    }

    /** A source over {@code memory} and one vCPU's registers (vCPU 0); {@code release} runs on close (resumes a live guest). */
    public GuestSource(String description, PhysicalMemory memory, VcpuState vcpu, boolean live, Runnable release) {
        this(description, memory, vcpu, 0, live, release);
    }

    /** As above, the registers being vCPU {@code cpu}'s. */
    public GuestSource(String description, PhysicalMemory memory, VcpuState vcpu, int cpu, boolean live, Runnable release) {
        this(description, memory, vcpu, cpu, live, release, null);
    }

    /** As above, for a guest vmsight paused itself: {@code resampler} lets it run and pauses it again ({@link #resample}). */
    public GuestSource(String description, PhysicalMemory memory, VcpuState vcpu, int cpu, boolean live, Runnable release,
                       Resampler resampler) {
        this.description = description;
        this.memory = memory;
        this.vcpu = vcpu;
        this.cpu = cpu;
        this.live = live;
        this.release = release;
        this.resampler = resampler;
    }

    /** Guest-physical memory (read-only: no source here can write to the guest). */
    public PhysicalMemory memory() { return memory; }

    /** The registers of the chosen vCPU at the moment the source was opened (or last {@link #resample resampled}). */
    public VcpuState vcpu() { return vcpu; }

    /** The number of the vCPU {@link #vcpu()} belongs to (0 for a snapshot). */
    public int cpu() { return cpu; }

    /** True for a running guest (paused while this source is open), false for a dump or file. */
    public boolean live() { return live; }

    /** Whether {@link #resample} can take a new moment: a live guest that vmsight paused itself (not a dump, not a guest someone else paused). */
    public boolean resamplable() { return resampler != null && !closed; }

    /**
     * Lets the guest run for {@code run}, pauses it again and reads the vCPU anew: another moment
     * of the same guest, for a run that may have met the kernel mid-update.
     *
     * @return false, changing nothing, when this source cannot ({@link #resamplable()})
     */
    public boolean resample(Duration run) {
        if (!resamplable()) return false;
        vcpu = resampler.resample(run);
        return true;
    }

    /** What this is, for messages: "lab guest 'vmsight' (RAM file /dev/shm/..., HMP registers)". */
    public String describe() { return description; }

    /** Releases the memory and lets a live guest run again. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            memory.close();
        } finally {
            release.run();
        }
    }

    @Override
    public String toString() { return description; }
}
