package dev.vmsight.ir.interp;

import java.util.HashMap;
import java.util.Map;

/**
 * A sparse flat memory of 4 KiB pages, for tests and benchmarks: only mapped pages are
 * accessible; anything else raises a #PF {@link CpuFault} with the address.
 */
public final class PagedMemory implements Memory {
    private final Map<Long, byte[]> pages = new HashMap<>();
    private long lastPageNumber = -1;
    private byte[] lastPage;

    /** Maps zero-filled pages covering [va, va + length). */
    public PagedMemory map(long va, long length) {
        for (long p = va >>> 12; p <= (va + length - 1) >>> 12; p++) {
            pages.computeIfAbsent(p, k -> new byte[4096]);
        }
        return this;
    }

    public boolean isMapped(long va) { return pages.containsKey(va >>> 12); }

    public PagedMemory load(long va, byte[] data) {
        map(va, Math.max(1, data.length));
        for (int i = 0; i < data.length; i++) {
            page(va + i, true)[(int) ((va + i) & 0xFFF)] = data[i];
        }
        return this;
    }

    private byte[] page(long va, boolean write) {
        long n = va >>> 12;
        if (n == lastPageNumber) {
            return lastPage;
        }
        byte[] p = pages.get(n);
        if (p == null) {
            throw CpuFault.pageFault(va, write);
        }
        lastPageNumber = n;
        lastPage = p;
        return p;
    }

    @Override
    public long read(long va, int size) {
        int off = (int) (va & 0xFFF);
        if (off + size <= 4096) {
            byte[] p = page(va, false);
            long v = 0;
            for (int i = size - 1; i >= 0; i--) {
                v = (v << 8) | (p[off + i] & 0xFF);
            }
            return v;
        }
        long v = 0;
        for (int i = size - 1; i >= 0; i--) {
            v = (v << 8) | (page(va + i, false)[(int) ((va + i) & 0xFFF)] & 0xFF);
        }
        return v;
    }

    @Override
    public void write(long va, int size, long value) {
        for (int i = 0; i < size; i++) {   // check every page before writing any byte
            page(va + i, true);
        }
        for (int i = 0; i < size; i++) {
            page(va + i, true)[(int) ((va + i) & 0xFFF)] = (byte) (value >>> (8 * i));
        }
    }
}
