package dev.vmsight.ir.sys;

/**
 * The long-mode paging structure as data (SDM vol. 3 §4.5): how many levels a walk has, at
 * which levels an entry with PS=1 is a leaf, and how many physical-address bits entries hold.
 * Level 1 is the page table (4 KiB leaves), 2 the page directory (2 MiB with PS), 3 the PDPT
 * (1 GiB with PS), 4 the PML4, 5 the PML5. One walker ({@code Mmu}) reads this.
 *
 * @param levels       4, or 5 when CR4.LA57
 * @param largeLeaves  levels where PS=1 makes a leaf (2 and 3); PS at other levels is reserved
 * @param physicalBits MAXPHYADDR: entry bits [physicalBits, 52) are reserved
 */
public record PagingFormat(int levels, int[] largeLeaves, int physicalBits) {
    public static final int P = 1, RW = 1 << 1, US = 1 << 2, A = 1 << 5, D = 1 << 6, PS = 1 << 7, G = 1 << 8;
    public static final long XD = 1L << 63;

    public PagingFormat {
        if (levels != 4 && levels != 5) {
            throw new IllegalArgumentException("long-mode paging has 4 or 5 levels, not " + levels);
        }
        if (physicalBits < 32 || physicalBits > 52) {
            throw new IllegalArgumentException("physical-address bits must be 32..52, not " + physicalBits);
        }
        largeLeaves = largeLeaves.clone();
    }

    /** The levels where PS makes a leaf (a copy). */
    @Override
    public int[] largeLeaves() { return largeLeaves.clone(); }

    public static PagingFormat fourLevel(int physicalBits) { return new PagingFormat(4, new int[]{2, 3}, physicalBits); }

    public static PagingFormat fiveLevel(int physicalBits) { return new PagingFormat(5, new int[]{2, 3}, physicalBits); }

    /** Linear-address width: 48 with 4 levels, 57 with 5. */
    public int linearBits() { return 12 + 9 * levels; }

    /** Bytes a leaf at {@code level} maps: 4 KiB, 2 MiB, 1 GiB. */
    public long pageSize(int level) { return 1L << (12 + 9 * (level - 1)); }

    /** The 9-bit index of {@code va} into the table at {@code level}. */
    public int index(long va, int level) { return (int) (va >>> (12 + 9 * (level - 1))) & 511; }

    public boolean isLargeLeafLevel(int level) {
        for (int l : largeLeaves) {
            if (l == level) {
                return true;
            }
        }
        return false;
    }

    /** Entry bits holding the next table's (or a 4 KiB page's) physical address: [12, physicalBits). */
    public long addressMask() { return ((1L << physicalBits) - 1) & ~0xFFFL; }

    /** Base of a leaf at {@code level}: the address bits above its page size. */
    public long leafAddressMask(int level) { return addressMask() & -pageSize(level); }

    /** Reserved bits of a canonical linear address's sign extension: false when {@code va} is canonical. */
    public boolean isCanonical(long va) {
        int shift = 64 - linearBits();
        return (va << shift >> shift) == va;
    }

    /**
     * Bits that must be zero in an entry at {@code level} (RSVD #PF otherwise): the bits above
     * MAXPHYADDR up to 51, PS where no large leaf exists, the low address bits of a large leaf
     * (bit 12 is its PAT bit), and XD when EFER.NXE is clear.
     */
    public long reservedMask(int level, long entry, boolean nxe) {
        long r = ((1L << 52) - 1) & ~((1L << physicalBits) - 1);
        boolean ps = (entry & PS) != 0;
        if (level > 1 && ps) {
            if (isLargeLeafLevel(level)) {
                r |= (pageSize(level) - 1) & ~0x1FFFL;
            } else {
                r |= PS;
            }
        }
        if (!nxe) {
            r |= XD;
        }
        return r;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PagingFormat f && f.levels == levels && f.physicalBits == physicalBits
                && java.util.Arrays.equals(f.largeLeaves, largeLeaves);
    }

    @Override
    public int hashCode() { return (levels * 31 + physicalBits) * 31 + java.util.Arrays.hashCode(largeLeaves); }

    @Override
    public String toString() { return levels + "-level paging, " + physicalBits + " physical-address bits"; }
}
