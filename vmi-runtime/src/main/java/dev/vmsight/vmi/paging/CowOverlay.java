package dev.vmsight.vmi.paging;

import dev.vmsight.vmi.GuestMemoryException;
import java.util.HashMap;
import java.util.Map;

/**
 * Copy-on-write over a read-only {@link LinearMemory} (an {@link AddressSpace}): a monitor's stores
 * land in overlay pages, its loads see the overlay first, the guest is never written.
 *
 * <p>Keyed by <em>linear</em> page, not physical, because that is what the monitor's stores mean:
 * the JIT and the reference executor store to linear addresses, and many of those stores go to
 * memory that exists only in the program's own world (the training process's stack and data,
 * which the live guest's current CR3 need not map at all). A physical overlay would need every
 * store to translate in the live guest, and a monitor store into a page table would change later
 * translations; a linear one needs neither. The price — two linear aliases of one physical page do
 * not see each other's stores — does not arise in monitors, which write their stack and locals.
 *
 * <p>The first store to a page copies the base page if the base can read it; otherwise the page
 * starts empty and remembers which bytes were stored, so a later load of a byte never stored
 * still fails as the base fails. {@link #clear()} drops the overlay between runs.
 */
public final class CowOverlay implements LinearMemory {
    private static final int PAGE = 4096;

    private final LinearMemory base;
    private final Map<Long, Page> pages = new HashMap<>();

    /** One overlay page: its bytes, and which were stored when the base page was unreadable (null: all valid). */
    private static final class Page {
        final byte[] data = new byte[PAGE];
        long[] stored;

        boolean allStored(int from, int len) {
            if (stored == null) return true;
            for (int i = from; i < from + len; i++) if ((stored[i >>> 6] & (1L << i)) == 0) return false;
            return true;
        }
    }

    public CowOverlay(LinearMemory base) {
        this.base = base;
    }

    public LinearMemory base() { return base; }

    /** Pages written so far. */
    public int pageCount() { return pages.size(); }

    /** Forgets every store (before the next run). */
    public void clear() { pages.clear(); }

    @Override
    public long read(long va, int size) {
        LinearMemory.checkSize(size);
        if (pages.isEmpty()) return base.read(va, size);
        if ((va & 0xFFF) + size <= PAGE && !pages.containsKey(va >>> 12)) return base.read(va, size);
        byte[] b = new byte[8];
        read(va, b, 0, size);
        long v = 0;
        for (int i = size - 1; i >= 0; i--) v = v << 8 | (b[i] & 0xFF);
        return v;
    }

    @Override
    public void read(long va, byte[] dst, int off, int len) {
        java.util.Objects.checkFromIndexSize(off, len, dst.length);
        if (pages.isEmpty()) {
            base.read(va, dst, off, len);
            return;
        }
        long at = va;
        int done = 0;
        while (done < len) {
            int in = (int) (at & 0xFFF);
            int n = Math.min(len - done, PAGE - in);
            Page p = pages.get(at >>> 12);
            if (p == null) {
                base.read(at, dst, off + done, n);
            } else if (p.allStored(in, n)) {
                System.arraycopy(p.data, in, dst, off + done, n);
            } else {
                base.read(at, dst, off + done, n); // fails as the base fails for the bytes never stored
                for (int i = in; i < in + n; i++) {
                    if ((p.stored[i >>> 6] & (1L << i)) != 0) dst[off + done + i - in] = p.data[i];
                }
            }
            done += n;
            at += n;
        }
    }

    @Override
    public void write(long va, int size, long value) {
        LinearMemory.checkSize(size);
        byte[] b = new byte[size];
        for (int i = 0; i < size; i++) b[i] = (byte) (value >>> (8 * i));
        write(va, b, 0, size);
    }

    @Override
    public void write(long va, byte[] src, int off, int len) {
        java.util.Objects.checkFromIndexSize(off, len, src.length);
        long at = va;
        int done = 0;
        while (done < len) {
            int in = (int) (at & 0xFFF);
            int n = Math.min(len - done, PAGE - in);
            Page p = pages.computeIfAbsent(at >>> 12, page -> copyOfBase(page << 12));
            System.arraycopy(src, off + done, p.data, in, n);
            if (p.stored != null) {
                for (int i = in; i < in + n; i++) p.stored[i >>> 6] |= 1L << i;
            }
            done += n;
            at += n;
        }
    }

    private Page copyOfBase(long pageVa) {
        Page p = new Page();
        try {
            base.read(pageVa, p.data, 0, PAGE);
        } catch (GuestMemoryException e) {
            p.stored = new long[PAGE / 64]; // unreadable in the base: only stored bytes are valid
        }
        return p;
    }
}
