package dev.vmsight.slicer;

import java.util.Arrays;

/**
 * A set of physical byte addresses (non-negative longs): open addressing, linear probing,
 * deletion by backward shift, so the slicer's live memory costs 8 bytes a slot and no boxing.
 */
final class LiveBytes {
    private static final long EMPTY = -1;
    private long[] slots = new long[1 << 12];
    private int size;

    int size() { return size; }

    boolean contains(long pa) {
        int mask = slots.length - 1;
        for (int i = index(pa, mask); ; i = (i + 1) & mask) {
            long s = slots[i];
            if (s == pa) {
                return true;
            }
            if (s == EMPTY) {
                return false;
            }
        }
    }

    void add(long pa) {
        if (pa < 0) {
            throw new IllegalArgumentException("negative physical address " + pa);
        }
        if (2 * (size + 1) > slots.length) {
            grow();
        }
        int mask = slots.length - 1;
        for (int i = index(pa, mask); ; i = (i + 1) & mask) {
            long s = slots[i];
            if (s == pa) {
                return;
            }
            if (s == EMPTY) {
                slots[i] = pa;
                size++;
                return;
            }
        }
    }

    /** Removes {@code pa}; returns whether it was there. */
    boolean remove(long pa) {
        int mask = slots.length - 1;
        int i = index(pa, mask);
        while (slots[i] != pa) {
            if (slots[i] == EMPTY) {
                return false;
            }
            i = (i + 1) & mask;
        }
        // backward-shift the run after i so probes never meet a hole
        int hole = i;
        for (int j = (i + 1) & mask; slots[j] != EMPTY; j = (j + 1) & mask) {
            int home = index(slots[j], mask);
            boolean movable = hole <= j ? home <= hole || home > j : home <= hole && home > j;
            if (movable) {
                slots[hole] = slots[j];
                hole = j;
            }
        }
        slots[hole] = EMPTY;
        size--;
        return true;
    }

    /** The members, in no particular order. */
    long[] toArray() {
        long[] out = new long[size];
        int n = 0;
        for (long s : slots) {
            if (s != EMPTY) {
                out[n++] = s;
            }
        }
        return out;
    }

    void clear() {
        Arrays.fill(slots, EMPTY);
        size = 0;
    }

    private void grow() {
        long[] old = slots;
        slots = new long[old.length * 2];
        Arrays.fill(slots, EMPTY);
        size = 0;
        for (long s : old) {
            if (s != EMPTY) {
                add(s);
            }
        }
    }

    private static int index(long key, int mask) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 32)) & mask;
    }

    LiveBytes() {
        Arrays.fill(slots, EMPTY);
    }
}
