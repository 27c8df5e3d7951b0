package dev.vmsight.merger;

import dev.vmsight.vmi.GuestMemoryException;
import dev.vmsight.vmi.paging.AddressSpace;
import dev.vmsight.vmi.paging.PagingMode;
import dev.vmsight.vmi.phys.PhysicalMemory;
import dev.vmsight.vmi.vcpu.VcpuState;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

/**
 * Finds a guest's {@link KernelLayout} from what every backend has: the vCPU's CR3 and the
 * guest's memory (no LSTAR, no symbols of this boot, no guest cooperation).
 *
 * <ol>
 *   <li>The kernel image: after boot the kernel unmaps every 2 MiB page of the image window
 *       below {@code _text} (cleanup_highmap), so the first present mapping of the window is
 *       {@code _text}; the slide is its distance from the trained {@code _text}.</li>
 *   <li>That slide is proved, not assumed: {@code phys_base}, read through the same page tables at
 *       its slid address, must equal where those tables put the image physically (virtual -
 *       __START_KERNEL_map + phys_base).</li>
 *   <li>The region bases are read at the slid addresses of {@code page_offset_base},
 *       {@code vmalloc_base} and {@code vmemmap_base}, and each must be a plausible base
 *       (1 GiB-aligned, kernel half, below the image window).</li>
 * </ol>
 *
 * A vCPU paused in user mode under page-table isolation has the user copy of the page tables in
 * CR3 (the kernel's, with bit 12 set), which maps the entry text only; the kernel's copy is tried
 * as well and the lowest proved {@code _text} wins.
 */
public final class KernelPlacement {

    /**
     * What was found: the layout, the guest's kernel half through the page tables that map the
     * image (its code, for {@link ProgramRelocation}), and phys_base (where the image sits physically).
     */
    public record Found(KernelLayout layout, AddressSpace kernel, long physBase, String describe) { }

    private static final long TWO_MIB = 2L << 20;
    private static final long START_KERNEL_MAP = KernelLayout.IMAGE_WINDOW_START;

    private KernelPlacement() { }

    /**
     * The layout of the guest {@code memory} and {@code vcpu} belong to, for a program trained
     * with {@code trained}.
     *
     * @throws RunContext.ContextException naming what could not be found or did not agree
     */
    public static Found find(PhysicalMemory memory, VcpuState vcpu, RunContext trained) {
        OptionalLong cr3 = vcpu.find("cr3");
        if (cr3.isEmpty()) {
            throw new RunContext.ContextException(vcpu.source() + " gives no CR3: the kernel image cannot be located", null);
        }
        PagingMode mode = PagingMode.of(vcpu);
        long root = cr3.getAsLong() & mode.addressMask();
        List<Long> roots = new ArrayList<>(List.of(root));
        if ((root & 0x1000) != 0) roots.add(root & ~0x1000L);   // PTI: the kernel's copy is the even page
        Found best = null;
        List<String> tried = new ArrayList<>();
        for (long r : roots) {
            AddressSpace space = AddressSpace.of(memory, r, mode);
            long text = firstMapped(space);
            if (text == 0) {
                tried.add("root 0x" + Long.toHexString(r) + " maps nothing in the image window");
                continue;
            }
            long slide = text - trained.layout().text();
            OptionalLong physBase = provenPhysBase(space, trained.physBaseSymbol() + slide);
            if (physBase.isEmpty()) {
                tried.add("root 0x" + Long.toHexString(r) + ": _text at 0x" + Long.toHexString(text)
                        + " is not confirmed by phys_base");
                continue;
            }
            if (best == null || Long.compareUnsigned(text, best.layout().text()) < 0) {
                best = new Found(regions(space, trained, text, slide), space, physBase.getAsLong(), "");
            }
        }
        if (best == null) {
            throw new RunContext.ContextException("the kernel image of this guest was not found through CR3 0x"
                    + Long.toHexString(cr3.getAsLong()) + " (" + String.join("; ", tried) + ")", null);
        }
        return new Found(best.layout(), best.kernel(), best.physBase(), "kernel at " + best.layout()
                + " (slide 0x" + Long.toHexString(best.layout().text() - trained.layout().text()) + ")");
    }

    /**
     * Where the guest's kernel image starts ({@code _text}), whatever build it is: the lowest
     * first-mapped slot of the image window through the vCPU's CR3 and, under page-table
     * isolation, the kernel's copy; 0 when neither maps the window. Unproved (no symbols of a
     * build to prove it with): for naming a guest's kernel, not for running on it.
     */
    public static long imageStart(PhysicalMemory memory, VcpuState vcpu) {
        OptionalLong cr3 = vcpu.find("cr3");
        if (cr3.isEmpty()) return 0;
        PagingMode mode = PagingMode.of(vcpu);
        long root = cr3.getAsLong() & mode.addressMask();
        long best = 0;
        for (long r : new long[] {root, root & ~0x1000L}) {
            long text = firstMapped(AddressSpace.of(memory, r, mode));
            if (text != 0 && (best == 0 || Long.compareUnsigned(text, best) < 0)) best = text;
        }
        return best;
    }

    /** The lowest present 2 MiB slot of the image window, or 0. */
    static long firstMapped(AddressSpace space) {
        for (long va = START_KERNEL_MAP; Long.compareUnsigned(va, KernelLayout.IMAGE_WINDOW_END) < 0; va += TWO_MIB) {
            try {
                space.translate(va);
                return va;
            } catch (GuestMemoryException unmapped) {
                // next slot
            }
        }
        return 0;
    }

    /**
     * phys_base proved through the vCPU's page tables at {@code symbol} (this boot's address of
     * phys_base), trying under page-table isolation the kernel's copy of a user CR3 too; empty when
     * neither proves it or the vCPU gives no CR3.
     */
    static OptionalLong provenPhysBase(PhysicalMemory memory, VcpuState vcpu, long symbol) {
        OptionalLong cr3 = vcpu.find("cr3");
        if (cr3.isEmpty()) return OptionalLong.empty();
        PagingMode mode = PagingMode.of(vcpu);
        long root = cr3.getAsLong() & mode.addressMask();
        for (long r : new long[] {root, root & ~0x1000L}) {
            OptionalLong proved = provenPhysBase(AddressSpace.of(memory, r, mode), symbol);
            if (proved.isPresent()) return proved;
        }
        return OptionalLong.empty();
    }

    /**
     * phys_base as the page tables prove it: the physical address of {@code symbol} (phys_base's
     * own slid address) minus its offset in the image window, which the value stored there must
     * equal (it is often negative on a KASLR boot). Empty when it disagrees or cannot be read.
     * (Through a linear image mapping, a wrong slide passes only where the 8 bytes it lands on
     * happen to equal phys_base; the code check that follows placement refuses such a slide.)
     */
    static OptionalLong provenPhysBase(AddressSpace space, long symbol) {
        try {
            long pa = space.translate(symbol).physical();
            long candidate = pa - (symbol - START_KERNEL_MAP);
            if (space.readLong(symbol) != candidate) return OptionalLong.empty();
            return OptionalLong.of(candidate);
        } catch (GuestMemoryException e) {
            return OptionalLong.empty();
        }
    }

    /** The layout with the image at {@code text}: the region bases read at their slid symbols (the trained bases on a nokaslr image without them). */
    private static KernelLayout regions(AddressSpace space, RunContext trained, long text, long slide) {
        RunContext.RegionSymbols s = trained.regionSymbols();
        KernelLayout t = trained.layout();
        if (!s.known()) {
            if (slide != 0) {
                throw new RunContext.ContextException("the guest's kernel image is slid by 0x" + Long.toHexString(slide)
                        + " (KASLR) and this program does not record where its kernel keeps the region bases"
                        + " (trained before KASLR support): train it again", null);
            }
            return new KernelLayout(text, t.pageOffset(), t.vmalloc(), t.vmemmap());
        }
        return new KernelLayout(text, base(space, s.pageOffsetBase() + slide, "page_offset_base"),
                base(space, s.vmallocBase() + slide, "vmalloc_base"), base(space, s.vmemmapBase() + slide, "vmemmap_base"));
    }

    private static long base(AddressSpace space, long symbol, String name) {
        long v;
        try {
            v = space.readLong(symbol);
        } catch (GuestMemoryException e) {
            throw new RunContext.ContextException(name + " at 0x" + Long.toHexString(symbol) + " cannot be read: " + e.getMessage(), e);
        }
        boolean plausible = v < 0 && (v & ((1L << 30) - 1)) == 0 && Long.compareUnsigned(v, START_KERNEL_MAP) < 0;
        if (!plausible) {
            throw new RunContext.ContextException(name + " at 0x" + Long.toHexString(symbol) + " holds 0x" + Long.toHexString(v)
                    + ", which is no region base (1 GiB-aligned, in the kernel half, below the image)", null);
        }
        return v;
    }
}
