package dev.vmsight.ir.sys;

import java.util.HashMap;
import java.util.Map;

/** A copy-on-write layer: written pages live here, everything else is read from the base. */
final class CopyOnWritePhysMem implements PhysMem {
    private final PhysMem base;
    private final Map<Long, byte[]> pages = new HashMap<>();

    CopyOnWritePhysMem(PhysMem base) { this.base = base; }

    @Override
    public long read(long pa, int size) {
        if (pages.isEmpty() || !crossesOrOwned(pa, size)) {
            return base.read(pa, size);
        }
        long v = 0;
        for (int i = size - 1; i >= 0; i--) {
            v = v << 8 | readByte(pa + i);
        }
        return v;
    }

    @Override
    public void write(long pa, int size, long value) {
        check(pa, size);
        for (int i = 0; i < size; i++) {
            long a = pa + i;
            page(a)[(int) (a & 0xFFF)] = (byte) (value >>> (8 * i));
        }
    }

    @Override
    public long size() { return base.size(); }

    /** Pages this overlay holds (the guest pages the interpreter has written). */
    int ownedPages() { return pages.size(); }

    /** Their page numbers (physical address >>> 12), sorted. */
    java.util.List<Long> ownedPageNumbers() { return pages.keySet().stream().sorted().toList(); }

    private boolean crossesOrOwned(long pa, int size) {
        return pages.containsKey(pa >>> 12) || pages.containsKey((pa + size - 1) >>> 12);
    }

    private int readByte(long pa) {
        byte[] p = pages.get(pa >>> 12);
        return p != null ? p[(int) (pa & 0xFFF)] & 0xFF : (int) base.read(pa, 1);
    }

    private byte[] page(long pa) {
        return pages.computeIfAbsent(pa >>> 12, n -> {
            byte[] copy = new byte[4096];
            long start = n << 12;
            for (int i = 0; i < 4096; i += 8) {
                long v = base.read(start + i, 8);
                for (int b = 0; b < 8; b++) {
                    copy[i + b] = (byte) (v >>> (8 * b));
                }
            }
            return copy;
        });
    }

    private void check(long pa, int size) {
        if (pa < 0 || pa + size > base.size()) {
            throw new IllegalArgumentException("physical address 0x" + Long.toHexString(pa) + " (+" + size
                    + ") is outside guest RAM of 0x" + Long.toHexString(base.size()) + " bytes");
        }
    }
}
