package dev.vmsight.jit;

import dev.vmsight.vmi.GuestMemoryException;
import dev.vmsight.vmi.paging.AddressSpace;
import dev.vmsight.vmi.phys.PhysicalMemoryException;

import java.nio.ByteBuffer;
import java.util.Map;

/**
 * The page source of a monitor over a guest: the user half (below the canonical split) from
 * the memory embedded in the program (the training process's stack and data, captured in
 * training), the kernel half through the guest's paging ({@link AddressSpace}, whose TLB is
 * per run). A kernel page costs one 4 KiB copy out of the physical source per run; the
 * monitor's TLB then serves every access to it.
 */
public final class GuestPages implements PageSource {
    /** First linear address of the kernel half (canonical split of 48-bit paging). */
    public static final long KERNEL_HALF = 0xFFFF_8000_0000_0000L;
    /** First linear address above the user half. */
    public static final long USER_END = 0x0000_8000_0000_0000L;

    private final AddressSpace kernel;
    private final Map<Long, byte[]> user;

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
            if (b == null) {
                throw new GuestMemoryException(GuestMemoryException.Kind.PHYSICAL_UNREADABLE, pageAddress, -1, 0,
                        "user-half page not embedded in the program (training never read it)");
            }
            return ByteBuffer.wrap(b).asReadOnlyBuffer();
        }
        // everything else through paging: the paging mode decides what is canonical (LA57 widens the halves)
        long pa = kernel.physical(pageAddress);
        byte[] copy = new byte[4096];
        try {
            kernel.memory().read(pa & ~0xFFFL, copy, 0, 4096);
        } catch (PhysicalMemoryException e) {
            throw new GuestMemoryException(GuestMemoryException.Kind.PHYSICAL_UNREADABLE, pageAddress, pa, 0,
                    e.getMessage(), e);
        }
        return ByteBuffer.wrap(copy);
    }
}
