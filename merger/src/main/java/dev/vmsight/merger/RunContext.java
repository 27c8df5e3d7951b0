package dev.vmsight.merger;

import dev.vmsight.guests.GuestException;
import dev.vmsight.vmi.GuestMemoryException;
import dev.vmsight.vmi.paging.AddressSpace;
import dev.vmsight.vmi.paging.PagingMode;
import dev.vmsight.vmi.phys.PatchedMemory;
import dev.vmsight.vmi.phys.PhysicalMemory;
import dev.vmsight.vmi.vcpu.VcpuState;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalLong;

/**
 * What a run needs of the machine besides the program itself, and where it finds it in the
 * guest's memory rather than in vCPU registers: the kernel's own page tables, the per-CPU area of
 * the chosen CPU, and the task the program runs as. Addresses are kernel symbols recorded in
 * training (the guest's kallsyms). A vCPU paused in user mode holds the per-CPU base only in
 * KERNEL_GS_BASE, which HMP does not print, and a user CR3 under page-table isolation maps
 * almost no kernel; {@code __per_cpu_offset[cpu]} and {@code init_top_pgt} are in every guest's
 * memory, whatever its vCPUs were doing, through every backend (RAM file, memoryPeek, dump).
 *
 * <p>The task: a program that asks about the system (pslist, getpsfile, lsmod, getdrvfile,
 * gettime) runs as {@code init_task} (CPU 0's idle task: root, the initial namespaces, the root
 * directory), so its answer does not depend on which process a vCPU happened to run; the
 * per-CPU {@code current_task} slot is patched in the run's view of memory (the guest is never
 * written). getpid asks who is running: it runs as the task the chosen vCPU runs (0 when the
 * vCPU idles).
 *
 * @param perCpuOffsets    address of {@code __per_cpu_offset} (one u64 per CPU: its per-CPU base)
 * @param currentTaskSlot  per-CPU offset of {@code current_task}
 * @param initTask         address of {@code init_task}
 * @param kernelPageTables address of {@code init_top_pgt}, or 0: the vCPU's CR3 then
 * @param physBaseSymbol   address of {@code phys_base} (where the kernel image sits physically), or 0
 * @param task             which task the program runs as
 * @param layout           where the training boot put the kernel image and the randomised regions
 *                         (a program's addresses are of that boot; see {@link KernelPlacement})
 * @param regionSymbols    addresses of {@code page_offset_base}, {@code vmalloc_base} and
 *                         {@code vmemmap_base} in the training boot (0 each when not recorded):
 *                         where another boot's region bases are read
 */
public record RunContext(long perCpuOffsets, long currentTaskSlot, long initTask, long kernelPageTables, long physBaseSymbol,
                         Task task, KernelLayout layout, RegionSymbols regionSymbols) {

    /** Where the three region bases are kept in the kernel image (image addresses of the training boot; 0: unknown). */
    public record RegionSymbols(long pageOffsetBase, long vmallocBase, long vmemmapBase) {
        public static final RegionSymbols NONE = new RegionSymbols(0, 0, 0);

        public boolean known() { return pageOffsetBase != 0 && vmallocBase != 0 && vmemmapBase != 0; }
    }

    public RunContext {
        java.util.Objects.requireNonNull(layout, "layout");
        java.util.Objects.requireNonNull(regionSymbols, "regionSymbols");
    }

    /** A run context of a nokaslr training boot whose region symbols were not recorded. */
    public RunContext(long perCpuOffsets, long currentTaskSlot, long initTask, long kernelPageTables, long physBaseSymbol, Task task) {
        this(perCpuOffsets, currentTaskSlot, initTask, kernelPageTables, physBaseSymbol, task, KernelLayout.NOKASLR,
                RegionSymbols.NONE);
    }

    /** This context in boot {@code live}: its image symbols moved with the image (per-CPU offsets do not move). */
    public RunContext relocated(KernelLayout live) {
        return new RunContext(image(perCpuOffsets, live), currentTaskSlot, image(initTask, live), image(kernelPageTables, live),
                image(physBaseSymbol, live), task, live, new RegionSymbols(image(regionSymbols.pageOffsetBase(), live),
                image(regionSymbols.vmallocBase(), live), image(regionSymbols.vmemmapBase(), live)));
    }

    private long image(long symbol, KernelLayout live) {
        return symbol == 0 ? 0 : layout.relocate(symbol, live);
    }

    /** Which task a run executes as. */
    public enum Task {
        /** the task the chosen vCPU was running when the guest paused (its idle task when idle) */
        VCPU_CURRENT,
        /** {@code init_task}: the same answer whatever the vCPUs were doing */
        INIT_TASK
    }

    /** No symbols recorded (a program trained before): CR3 and the per-CPU base come from the vCPU's registers. */
    public static final RunContext NONE = new RunContext(0, 0, 0, 0, 0, Task.VCPU_CURRENT);

    /** The run context cannot be found in this guest's memory: a structured failure of the run, naming what was read. */
    public static final class ContextException extends GuestException {
        ContextException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** Where the kernel image's virtual addresses start (x86-64 __START_KERNEL_map). */
    static final long START_KERNEL_MAP = 0xffffffff80000000L;

    public boolean known() { return perCpuOffsets != 0 && currentTaskSlot != 0; }

    /**
     * The run context of a guest: {@code memory} (with {@code current_task} patched when the
     * program runs as init_task) and a vCPU state whose CR3 is the kernel's page tables and whose
     * per-CPU base registers hold CPU {@code cpu}'s per-CPU base (KERNEL_GS_BASE for a program
     * entered in user mode, where syscall's swapgs finds it; GS_BASE is the user's).
     *
     * @throws GuestException naming what could not be found (an unmapped table, a CPU without a per-CPU area)
     */
    public Attached attach(PhysicalMemory memory, VcpuState vcpu, int cpu) {
        return attach(memory, vcpu, cpu, OptionalLong.empty());
    }

    /**
     * As {@link #attach(PhysicalMemory, VcpuState, int)}, with {@code provenPhysBase} the value of
     * {@code phys_base} when the page tables already proved it ({@link KernelPlacement}; on a
     * KASLR boot it is often negative: the image sits physically lower than its virtual slide).
     */
    public Attached attach(PhysicalMemory memory, VcpuState vcpu, int cpu, OptionalLong provenPhysBase) {
        if (!known()) {
            return new Attached(memory, vcpu, 0, 0, vcpu.source());
        }
        if (cpu < 0 || cpu > 8191) {
            throw new ContextException("CPU " + cpu + " is not a CPU number (0..8191)", null);
        }
        Map<String, Long> regs = new LinkedHashMap<>(vcpu.registers());
        String tables;
        long cr3;
        OptionalLong physBase = kernelPageTables == 0 ? OptionalLong.empty()
                : provenPhysBase.isPresent() ? provenPhysBase : physBase(memory, vcpu);
        if (physBase.isPresent()) {
            cr3 = kernelPageTables - START_KERNEL_MAP + physBase.getAsLong();
            tables = "init_top_pgt at physical 0x" + Long.toHexString(cr3);
        } else {
            OptionalLong vcr3 = vcpu.find("cr3");
            if (vcpu.find("cr3").isEmpty()) {
                throw new ContextException(vcpu.source() + " gives no CR3, and the kernel's own page tables were not found in memory", null);
            }
            cr3 = vcr3.getAsLong();
            tables = "the vCPU's CR3";
        }
        regs.put("cr3", cr3);
        PagingMode mode = PagingMode.of(vcpu);
        AddressSpace space = AddressSpace.of(memory, cr3, mode);
        long base;
        long running;
        try {
            base = space.readLong(perCpuOffsets + 8L * cpu);
            running = base == 0 ? 0 : space.readLong(base + currentTaskSlot);
        } catch (GuestMemoryException e) {
            throw new ContextException("the per-CPU area of CPU " + cpu + " cannot be read through " + tables + ": " + e.getMessage(), e);
        }
        if (base == 0 || running >= 0) {
            throw new ContextException("CPU " + cpu + " has no per-CPU area in this guest (__per_cpu_offset[" + cpu + "] = 0x"
                    + Long.toHexString(base) + ", its current task 0x" + Long.toHexString(running) + ")", null);
        }
        regs.put("kernel_gs_base", base);
        regs.put("gs_base", 0L);     // the user's GS base; training's processes had none (a user-entry program keeps its own)
        PhysicalMemory view = memory;
        long task = running;
        if (task() == Task.INIT_TASK && running != initTask) {
            long slot;
            try {
                slot = space.translate(base + currentTaskSlot).physical();
            } catch (GuestMemoryException e) {
                throw new ContextException("current_task of CPU " + cpu + " does not translate: " + e.getMessage(), e);
            }
            view = PatchedMemory.of(memory, slot, initTask, "current_task of CPU " + cpu + " set to init_task");
            task = initTask;
        }
        String what = vcpu.source() + "; " + tables + ", per-CPU base of CPU " + cpu + " 0x" + Long.toHexString(base)
                + ", running as " + (task == initTask ? "init_task" : "the vCPU's task 0x" + Long.toHexString(task));
        return new Attached(view, new VcpuState(what, regs), base, task, what);
    }

    /**
     * Where the kernel image lies physically when no placement proved it: {@code phys_base} read
     * through the vCPU's own page tables (and, under page-table isolation, the kernel's copy of
     * them), which must hold the physical offset they map it at ({@link
     * KernelPlacement#provenPhysBase}). Only a nokaslr context without a usable CR3 falls back to
     * {@link #unslidPhysBase}: on a KASLR boot the image is not where it was linked, and a zero
     * read at the unslid place would "confirm" 0 (a CI run met exactly that: init_top_pgt taken
     * from memory that was not the image).
     */
    private OptionalLong physBase(PhysicalMemory memory, VcpuState vcpu) {
        if (physBaseSymbol == 0) {
            return layout.equals(KernelLayout.NOKASLR) ? OptionalLong.of(0) : OptionalLong.empty();
        }
        OptionalLong proved = KernelPlacement.provenPhysBase(memory, vcpu, physBaseSymbol);
        if (proved.isPresent()) return proved;
        return layout.equals(KernelLayout.NOKASLR) ? unslidPhysBase(memory) : OptionalLong.empty();
    }

    /**
     * Where the kernel image of a nokaslr boot lies physically: {@code phys_base} read through the
     * image's own mapping (virtual - __START_KERNEL_map + phys_base), which must hold the value it
     * was read with. Tried with 0 (a kernel loaded where it was linked) and then with the value
     * found; empty when neither is consistent (another build, or no such symbol).
     */
    private OptionalLong unslidPhysBase(PhysicalMemory memory) {
        long candidate = 0;
        for (int attempt = 0; attempt < 2; attempt++) {
            long value;
            try {
                value = memory.readLong(physBaseSymbol - START_KERNEL_MAP + candidate);
            } catch (RuntimeException unreadable) {
                return OptionalLong.empty();
            }
            if (value == candidate) {
                return OptionalLong.of(candidate);
            }
            if ((value & 0xFFF) != 0 || value < 0 || value > memory.map().size() * 4) {
                return OptionalLong.empty();
            }
            candidate = value;
        }
        return OptionalLong.empty();
    }

    /**
     * A run's view of a guest: the memory it reads (the guest's, with the run's own patches), the
     * registers it starts from, the per-CPU base it uses and the task it runs as.
     */
    public record Attached(PhysicalMemory memory, VcpuState vcpu, long perCpuBase, long task, String describe) { }
}
