package dev.vmsight.vmi.paging;

import dev.vmsight.vmi.vcpu.VcpuState;

/**
 * The x86-64 long-mode paging structure as data (SDM vol. 3 §4.5): 4 levels (48-bit linear
 * addresses) or 5 with CR4.LA57 (57-bit); PS=1 makes a leaf at level 2 (2 MiB) and 3 (1 GiB);
 * entries hold physical-address bits [12, physicalBits). Bits of an entry above MAXPHYADDR, PS at
 * level 4/5, the low address bits of a large leaf (bit 12 is its PAT bit) and, without EFER.NXE,
 * the XD bit are reserved: the CPU faults on them, so translation fails on them too.
 *
 * @param levels       4 or 5
 * @param physicalBits MAXPHYADDR (QEMU's qemu64 CPU: 40)
 * @param nxe          EFER.NXE: bit 63 is execute-disable (else reserved)
 */
public record PagingMode(int levels, int physicalBits, boolean nxe) {
    public static final long P = 1, RW = 1 << 1, US = 1 << 2, PS = 1 << 7, XD = 1L << 63;
    static final long CR4_LA57 = 1L << 12, EFER_NXE = 1L << 11;
    /** QEMU's default MAXPHYADDR for qemu64 under TCG. */
    public static final int DEFAULT_PHYSICAL_BITS = 40;

    public PagingMode {
        if (levels != 4 && levels != 5) throw new IllegalArgumentException("long-mode paging has 4 or 5 levels, not " + levels);
        if (physicalBits < 32 || physicalBits > 52) throw new IllegalArgumentException("physical-address bits must be 32..52, not " + physicalBits);
    }

    public static PagingMode fourLevel() { return new PagingMode(4, DEFAULT_PHYSICAL_BITS, true); }

    public static PagingMode fiveLevel() { return new PagingMode(5, DEFAULT_PHYSICAL_BITS, true); }

    /**
     * The mode a vCPU's CR4 (LA57) and EFER (NXE) select. Without EFER (a memory-only ELF core does
     * not record it) NXE is taken as set, as every x86-64 Linux on an NX-capable CPU sets it.
     */
    public static PagingMode of(VcpuState cpu) {
        long cr4 = cpu.cr4();
        boolean nxe = cpu.find("efer").isEmpty() || (cpu.efer() & EFER_NXE) != 0;
        return new PagingMode((cr4 & CR4_LA57) != 0 ? 5 : 4, DEFAULT_PHYSICAL_BITS, nxe);
    }

    /** Linear-address width: 48 or 57. */
    public int linearBits() { return 12 + 9 * levels; }

    /** Whether bits 63..linearBits-1 of {@code va} are all equal (sign extension). */
    public boolean isCanonical(long va) {
        int shift = 64 - linearBits();
        return (va << shift >> shift) == va;
    }

    /** Bytes a leaf at {@code level} maps: 4 KiB, 2 MiB, 1 GiB. */
    public static long pageSize(int level) { return 1L << (12 + 9 * (level - 1)); }

    /** Index of {@code va} in the table at {@code level}. */
    public static int index(long va, int level) { return (int) (va >>> (12 + 9 * (level - 1))) & 511; }

    /** Entry bits holding the next table's (or a 4 KiB page's) address. */
    public long addressMask() { return ((1L << physicalBits) - 1) & ~0xFFFL; }

    /** Entry bits that must be 0 at {@code level} given the entry's PS bit. */
    public long reservedMask(int level, long entry) {
        long r = ((1L << 52) - 1) & ~((1L << physicalBits) - 1);
        if (level > 1 && (entry & PS) != 0) {
            r |= level <= 3 ? (pageSize(level) - 1) & ~0x1FFFL : PS;
        }
        return nxe ? r : r | XD;
    }

    /** Whether an entry at {@code level} ends the walk. */
    public static boolean isLeaf(int level, long entry) {
        return level == 1 || (level <= 3 && (entry & PS) != 0);
    }
}
