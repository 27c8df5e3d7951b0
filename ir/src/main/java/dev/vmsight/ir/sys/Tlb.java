package dev.vmsight.ir.sys;

import java.util.Arrays;

/**
 * Cached translations, one entry per 4 KiB linear page (a large page fills one entry per 4 KiB
 * page used), in a direct-mapped array indexed by the low bits of the page number with the whole
 * page number as tag: a hit is an index and a compare. A colliding page evicts the older entry
 * (a real TLB may drop any entry at any time; the next access walks again). Flushed by invlpg
 * (the whole large page it belongs to, as the SDM §4.10.4.1 says), by CR3 writes (except global
 * entries when CR4.PGE) and by paging-mode changes.
 */
final class Tlb {
    /**
     * @param frame       physical address of the 4 KiB frame
     * @param pageBase    linear base of the leaf page (4K/2M/1G) this entry came from
     * @param pageSize    size of that leaf page
     * @param writable    R/W on every level
     * @param user        U/S on every level
     * @param noExec      XD on some level (with EFER.NXE)
     * @param dirty       the leaf's D bit was set when cached (a write to a clean page walks again)
     * @param global      the leaf's G bit
     * @param translation the walk this entry came from
     */
    record Entry(long frame, long pageBase, long pageSize, boolean writable, boolean user, boolean noExec,
                 boolean dirty, boolean global, Translation translation) { }

    private static final int SLOTS = 4096;
    private static final long EMPTY = -1;   // no page number (va >>> 12 < 2^52) is all ones

    private final long[] tags = new long[SLOTS];
    private final Entry[] entries = new Entry[SLOTS];
    /** Whether some entry may come from a large page (then invlpg must look at every slot). */
    private boolean large;

    Tlb() { flushAll(); }

    Entry get(long va) {
        long vpn = va >>> 12;
        int slot = (int) vpn & (SLOTS - 1);
        return tags[slot] == vpn ? entries[slot] : null;
    }

    void put(long va, Entry e) {
        long vpn = va >>> 12;
        int slot = (int) vpn & (SLOTS - 1);
        tags[slot] = vpn;
        entries[slot] = e;
        large |= e.pageSize() > 4096;
    }

    void invalidatePage(long va) {
        if (large) {
            for (int i = 0; i < SLOTS; i++) {
                if (tags[i] != EMPTY && Long.compareUnsigned(va - entries[i].pageBase(), entries[i].pageSize()) < 0) {
                    drop(i);
                }
            }
        }
        int slot = (int) (va >>> 12) & (SLOTS - 1);
        if (tags[slot] == va >>> 12) {
            drop(slot);
        }
    }

    void flushNonGlobal() {
        for (int i = 0; i < SLOTS; i++) {
            if (tags[i] != EMPTY && !entries[i].global()) {
                drop(i);
            }
        }
    }

    void flushAll() {
        Arrays.fill(tags, EMPTY);
        Arrays.fill(entries, null);
        large = false;
    }

    int size() {
        int n = 0;
        for (long t : tags) {
            n += t != EMPTY ? 1 : 0;
        }
        return n;
    }

    private void drop(int slot) {
        tags[slot] = EMPTY;
        entries[slot] = null;
    }
}
