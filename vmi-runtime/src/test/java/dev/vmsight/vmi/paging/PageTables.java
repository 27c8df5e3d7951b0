package dev.vmsight.vmi.paging;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Builds x86-64 page tables in a byte array of guest RAM filled with random bytes: tables are
 * taken from the top of RAM downwards and zeroed, leaves point anywhere (also beyond RAM).
 * Records every entry written so tests can damage them.
 */
final class PageTables {
    static final long P = 1, RW = 2, US = 4, PS = 0x80, XD = 1L << 63;

    final byte[] ram;
    final int levels;
    final long root;
    private final ByteBuffer le;
    private long nextTable;
    /** Physical addresses of entries that point to a table (not leaves), with their level. */
    final List<long[]> tableEntries = new ArrayList<>();
    /** Physical addresses of leaf entries, with their level. */
    final List<long[]> leafEntries = new ArrayList<>();

    PageTables(int ramBytes, int levels, long seed) {
        this.ram = new byte[ramBytes];
        new Random(seed).nextBytes(ram);
        this.le = ByteBuffer.wrap(ram).order(ByteOrder.LITTLE_ENDIAN);
        this.levels = levels;
        this.nextTable = ramBytes;
        this.root = newTable();
    }

    private long newTable() {
        nextTable -= 4096;
        if (nextTable < ram.length / 2) throw new IllegalStateException("page-table area full");
        java.util.Arrays.fill(ram, (int) nextTable, (int) nextTable + 4096, (byte) 0);
        return nextTable;
    }

    long entry(long pa) { return le.getLong((int) pa); }

    void setEntry(long pa, long value) { le.putLong((int) pa, value); }

    static int index(long va, int level) { return (int) (va >>> (12 + 9 * (level - 1))) & 511; }

    /**
     * Maps the page of {@code va} with a leaf at {@code leafLevel} (1: 4 KiB, 2: 2 MiB, 3: 1 GiB) to
     * {@code frame} with {@code flags}; intermediate tables get P|RW|US. Returns false when the
     * path is blocked by an existing leaf above {@code leafLevel}.
     */
    boolean map(long va, int leafLevel, long frame, long flags) {
        long table = root;
        for (int level = levels; level > leafLevel; level--) {
            long ea = table + 8L * index(va, level);
            long e = entry(ea);
            if ((e & P) == 0) {
                long next = newTable();
                setEntry(ea, next | P | RW | US);
                tableEntries.add(new long[]{ea, level});
                table = next;
            } else if ((e & PS) != 0 && level <= 3) {
                return false;
            } else {
                table = e & 0x000F_FFFF_FFFF_F000L;
            }
        }
        long ea = table + 8L * index(va, leafLevel);
        if ((entry(ea) & P) != 0) return false; // already a table or leaf here
        setEntry(ea, frame | flags | P | (leafLevel > 1 ? PS : 0));
        leafEntries.add(new long[]{ea, leafLevel});
        return true;
    }
}
