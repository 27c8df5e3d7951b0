package dev.vmsight.jit;

import dev.vmsight.vmi.GuestMemoryException;
import dev.vmsight.vmi.paging.AddressSpace;
import dev.vmsight.vmi.paging.Translation;
import dev.vmsight.vmi.phys.PhysicalMemoryException;

import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;

/**
 * The page source of a monitor over a guest: the user half (below the canonical split) from
 * the memory embedded in the program (the training process's stack and data, captured in
 * training) where the program has it, else (a user page of the monitored task the kernel reads
 * through its own pointers) like the kernel half through the guest's paging ({@link AddressSpace}, whose TLB is
 * per run). A kernel page is a zero-copy view when the source can give one (a mapped RAM file),
 * else one 4 KiB copy per run; the monitor's TLB then serves every access to it. One instance per
 * run: it remembers the large pages it walked (the guest may change its tables between runs).
 */
public final class GuestPages implements PageSource {
    /** First linear address of the kernel half (canonical split of 48-bit paging). */
    public static final long KERNEL_HALF = 0xFFFF_8000_0000_0000L;
    /** First linear address above the user half. */
    public static final long USER_END = 0x0000_8000_0000_0000L;

    private final AddressSpace kernel;
    private final Map<Long, byte[]> user;
    private final Map<Long, Long> large2m = new HashMap<>();
    private final Map<Long, Long> large1g = new HashMap<>();

    /**
     * @param kernel the guest's address space (CR3 from the program's live-ins or the VcpuState)
     * @param user   embedded user-half pages, page address → 4096 bytes (not copied: do not modify)
     */
    public GuestPages(AddressSpace kernel, Map<Long, byte[]> user) {
        this.kernel = kernel;
        this.user = Map.copyOf(user);
        for (var e : this.user.entrySet()) {
            if ((e.getKey() & 0xFFF) != 0 || e.getValue().length != 4096 || Long.compareUnsigned(e.getKey(), USER_END) >= 0) {
                throw new IllegalArgumentException("embedded page 0x" + Long.toHexString(e.getKey())
                        + " must be a 4096-byte user-half page at a page boundary");
            }
        }
    }

    @Override
    public ByteBuffer page(long pageAddress) {
        if (Long.compareUnsigned(pageAddress, USER_END) < 0) {
            byte[] b = user.get(pageAddress);
            if (b != null) {
                return ByteBuffer.wrap(b).asReadOnlyBuffer();
            }
            // not the training process's: the kernel reads the monitored task's own user memory
            // through a pointer of its own (rseq, robust futex lists...), through the guest's paging
        }
        // everything else through paging: the paging mode decides what is canonical (LA57 widens the halves)
        long pa = physical(pageAddress) & ~0xFFFL;
        ByteBuffer view = kernel.memory().view(pa, 4096);
        if (view != null) {
            return view;
        }
        byte[] copy = new byte[4096];
        try {
            kernel.memory().read(pa, copy, 0, 4096);
        } catch (PhysicalMemoryException e) {
            throw new GuestMemoryException(GuestMemoryException.Kind.PHYSICAL_UNREADABLE, pageAddress, pa, 0,
                    e.getMessage(), e);
        }
        return ByteBuffer.wrap(copy);
    }

    /**
     * Translates through the large leaves met so far in this run first (Linux maps its direct map
     * with 2 MiB / 1 GiB pages: one walk serves every task_struct in it), else walks.
     */
    private long physical(long va) {
        Long base = large2m.get(va >>> 21);
        if (base != null) {
            return base | (va & 0x1F_FFFFL);
        }
        base = large1g.get(va >>> 30);
        if (base != null) {
            return base | (va & 0x3FFF_FFFFL);
        }
        Translation t = kernel.translate(va);
        if (t.level() == 2) {
            large2m.put(va >>> 21, t.physical() & ~0x1F_FFFFL);
        } else if (t.level() == 3) {
            large1g.put(va >>> 30, t.physical() & ~0x3FFF_FFFFL);
        }
        return t.physical();
    }
}
