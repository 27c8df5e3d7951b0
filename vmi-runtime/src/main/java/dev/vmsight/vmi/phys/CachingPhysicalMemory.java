package dev.vmsight.vmi.phys;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A page cache in front of another {@link PhysicalMemory}: 4 KiB pages, least recently used
 * evicted past a bound, missing pages fetched in runs of up to the base's ideal batch size. The
 * guest is live, so nothing is cached behind the caller's back: call {@link #invalidate()} (or
 * {@link #invalidate(long, long)}) whenever the guest may have run since the last read — typically
 * once per monitor run, with the guest paused while it runs.
 *
 * <p>Not thread-safe: one monitor run owns one cache.
 */
public final class CachingPhysicalMemory implements PhysicalMemory {
    public static final int PAGE = 4096;

    private final PhysicalMemory base;
    private final int maxPages;
    private final LinkedHashMap<Long, byte[]> pages;
    private long hits, misses, baseReads;

    /** Caches at most {@code maxPages} pages of {@code base}. */
    public CachingPhysicalMemory(PhysicalMemory base, int maxPages) {
        if (maxPages < 1) throw new IllegalArgumentException("maxPages must be >= 1, not " + maxPages);
        this.base = base;
        this.maxPages = maxPages;
        this.pages = new LinkedHashMap<>(256, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Long, byte[]> eldest) {
                return size() > CachingPhysicalMemory.this.maxPages;
            }
        };
    }

    @Override
    public void read(long physAddr, byte[] dst, int off, int len) {
        java.util.Objects.checkFromIndexSize(off, len, dst.length);
        if (len == 0) return;
        long first = physAddr / PAGE, last = (physAddr + len - 1) / PAGE;
        if (physAddr < 0 || !base.map().covers(first * PAGE, (last - first + 1) * PAGE)) {
            // Outside RAM (the base names the failing address) or a page only partly RAM: uncached.
            base.read(physAddr, dst, off, len);
            return;
        }
        int batchPages = Math.max(1, base.idealBatchSize() / PAGE);
        long p = first;
        while (p <= last) {
            byte[] page = pages.get(p);
            if (page != null) {
                hits++;
                copyOut(p, page, 0, physAddr, dst, off, len);
                p++;
                continue;
            }
            // A run of absent pages: one base read of up to the ideal batch size.
            long runStart = p;
            while (p <= last && p - runStart < batchPages && !pages.containsKey(p)) p++;
            int count = (int) (p - runStart);
            byte[] run = base.readFully(runStart * PAGE, count * PAGE);
            baseReads++;
            misses += count;
            for (int i = 0; i < count; i++) {
                pages.put(runStart + i, Arrays.copyOfRange(run, i * PAGE, (i + 1) * PAGE));
                copyOut(runStart + i, run, i * PAGE, physAddr, dst, off, len);
            }
        }
    }

    /** Copies the part of page {@code pageNo} (at {@code src[srcOff..]}) inside the requested range. */
    private static void copyOut(long pageNo, byte[] src, int srcOff, long physAddr, byte[] dst, int off, int len) {
        long pageStart = pageNo * PAGE;
        long from = Math.max(pageStart, physAddr), to = Math.min(pageStart + PAGE, physAddr + len);
        System.arraycopy(src, srcOff + (int) (from - pageStart), dst, off + (int) (from - physAddr), (int) (to - from));
    }

    /** Forgets every cached page. */
    public void invalidate() {
        pages.clear();
    }

    /** Forgets the cached pages overlapping guest-physical {@code [physAddr, physAddr+len)}. */
    public void invalidate(long physAddr, long len) {
        if (len <= 0) return;
        for (long p = physAddr / PAGE; p <= (physAddr + len - 1) / PAGE; p++) pages.remove(p);
    }

    /** Page lookups answered from the cache. */
    public long hits() { return hits; }

    /** Pages fetched from the base. */
    public long misses() { return misses; }

    /** Requests sent to the base (each up to its ideal batch size). */
    public long baseReads() { return baseReads; }

    @Override public MemoryMap map() { return base.map(); }

    @Override public int idealBatchSize() { return base.idealBatchSize(); }

    @Override public String describe() { return "cached " + base.describe(); }

    @Override public void close() { pages.clear(); base.close(); }
}
