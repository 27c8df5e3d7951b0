package dev.vmsight.ir.sys;

import java.util.HashMap;
import java.util.Map;

/**
 * Cached translations, one entry per 4 KiB linear page (a large page fills one entry per 4 KiB
 * page used). Flushed by invlpg (the whole large page it belongs to, as the SDM §4.10.4.1 says),
 * by CR3 writes (except global entries when CR4.PGE) and by paging-mode changes.
 */
final class Tlb {
    /**
     * @param frame     physical address of the 4 KiB frame
     * @param pageBase  linear base of the leaf page (4K/2M/1G) this entry came from
     * @param pageSize  size of that leaf page
     * @param writable  R/W on every level
     * @param user      U/S on every level
     * @param noExec    XD on some level (with EFER.NXE)
     * @param dirty     the leaf's D bit was set when cached (a write to a clean page walks again)
     * @param global    the leaf's G bit
     */
    record Entry(long frame, long pageBase, long pageSize, boolean writable, boolean user, boolean noExec,
                 boolean dirty, boolean global) { }

    private final Map<Long, Entry> entries = new HashMap<>();

    Entry get(long va) { return entries.get(va >>> 12); }

    void put(long va, Entry e) { entries.put(va >>> 12, e); }

    void invalidatePage(long va) {
        entries.values().removeIf(e -> Long.compareUnsigned(va - e.pageBase(), e.pageSize()) < 0);
        entries.remove(va >>> 12);
    }

    void flushNonGlobal() { entries.values().removeIf(e -> !e.global()); }

    void flushAll() { entries.clear(); }

    int size() { return entries.size(); }
}
