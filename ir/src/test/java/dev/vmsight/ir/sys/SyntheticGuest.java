package dev.vmsight.ir.sys;

import dev.vmsight.ir.interp.MachineState;
import dev.vmsight.ir.uop.Loc;

import static dev.vmsight.ir.sys.PagingFormat.*;

/**
 * A guest built in a byte array: real page tables (4- or 5-level, 4K/2M/1G leaves), a GDT laid
 * out as Linux's (kernel CS 0x10, SS 0x18, user SS 0x2b, CS 0x33), an IDT, a 64-bit TSS, and a
 * kernel direct map of the first 32 MiB at {@link #KERNEL_BASE} in 2 MiB supervisor pages.
 * Tests put code and data into the RAM and page tables as they need.
 */
final class SyntheticGuest {
    static final long KERNEL_BASE = 0xffff_8880_0000_0000L;
    static final int KERNEL_CS = 0x10, KERNEL_SS = 0x18, USER_SS = 0x2b, USER_CS = 0x33;
    static final long GDT = 0x10000, IDT = 0x11000, TSS = 0x12000, KERNEL_CODE = 0x20000;
    static final long KERNEL_STACK_TOP = 0x38000, IST1_TOP = 0x40000, IST2_TOP = 0x48000;
    /** User code (read-only, executable) and data (writable, no-execute), 4 KiB pages. */
    static final long USER_CODE = 0x400000, USER_DATA = 0x600000, USER_STACK_TOP = 0x800000;
    static final long USER_CODE_PA = 0x1000000, USER_DATA_PA = 0x1010000, USER_STACK_PA = 0x1020000;
    static final long CR0_PE = 1, CR0_ET = 0x10, CR4_PAE = 0x20, EFER_LME = 1L << 8;

    final byte[] bytes = new byte[48 << 20];
    final PhysMem ram = PhysMem.of(bytes);
    final int levels;
    final long root;
    private long nextTable = 0x100000;

    SyntheticGuest(int levels) {
        this.levels = levels;
        this.root = newTable();
        for (long pa = 0; pa < (32 << 20); pa += 1 << 21) {
            map(KERNEL_BASE + pa, pa, 1 << 21, RW | G);
        }
        ram.write(GDT + 0x10, 8, 0x00af9b000000ffffL);   // kernel code, 64-bit, DPL 0
        ram.write(GDT + 0x18, 8, 0x00cf93000000ffffL);   // kernel data
        ram.write(GDT + 0x20, 8, 0x00cffb000000ffffL);   // user code, 32-bit
        ram.write(GDT + 0x28, 8, 0x00cff3000000ffffL);   // user data, DPL 3
        ram.write(GDT + 0x30, 8, 0x00affb000000ffffL);   // user code, 64-bit, DPL 3
        ram.write(GDT + 0x38, 8, 0x12cff3345678ffffL);   // a data segment with base 0x12345678 (FS loads)
        ram.write(TSS + 4, 8, KERNEL_BASE + KERNEL_STACK_TOP);    // RSP0
        ram.write(TSS + 0x24, 8, KERNEL_BASE + IST1_TOP);         // IST1
        ram.write(TSS + 0x2c, 8, KERNEL_BASE + IST2_TOP);         // IST2
        for (long off = 0; off < 0x10000; off += 0x1000) {
            map(USER_CODE + off, USER_CODE_PA + off, 0x1000, US);
            map(USER_DATA + off, USER_DATA_PA + off, 0x1000, US | RW | XD);
            map(USER_STACK_TOP - 0x10000 + off, USER_STACK_PA + off, 0x1000, US | RW | XD);
        }
    }

    static long kva(long pa) { return KERNEL_BASE + pa; }

    SystemTables tables() { return new SystemTables(kva(GDT), 0x3f, kva(IDT), 0xfff, kva(TSS)); }

    long newTable() {
        long t = nextTable;
        nextTable += 0x1000;
        if (nextTable > 0x400000) {
            throw new IllegalStateException("page-table pool exhausted");
        }
        return t;
    }

    /** Maps [va, va + size) to pa with a leaf of that size and {@code flags} (P added); tables on the way are P|RW|US. */
    void map(long va, long pa, long size, long flags) {
        PagingFormat f = format();
        int leafLevel = size == 0x1000 ? 1 : size == 1 << 21 ? 2 : 3;
        long table = root;
        for (int level = levels; level > leafLevel; level--) {
            long ea = table + 8L * f.index(va, level);
            long e = ram.read(ea, 8);
            if ((e & P) == 0) {
                e = newTable() | P | RW | US;
                ram.write(ea, 8, e);
            }
            table = e & f.addressMask();
        }
        ram.write(table + 8L * f.index(va, leafLevel), 8, pa | flags | P | (leafLevel > 1 ? PS : 0));
    }

    /** Physical address of the leaf entry mapping {@code va} at {@code leafLevel}, and of each table entry above. */
    long entryAddress(long va, int level) {
        PagingFormat f = format();
        long table = root;
        for (int l = levels; l > level; l--) {
            table = ram.read(table + 8L * f.index(va, l), 8) & f.addressMask();
        }
        return table + 8L * f.index(va, level);
    }

    PagingFormat format() { return levels == 5 ? PagingFormat.fiveLevel(40) : PagingFormat.fourLevel(40); }

    /** Long mode with paging, WP, PAE (LA57 for 5 levels), NXE and SCE; CPL from {@code cpl}. */
    MachineState state(int cpl) {
        MachineState s = new MachineState();
        s.set(Loc.CR0, Mmu.CR0_PG | Mmu.CR0_WP | CR0_ET | CR0_PE);
        s.set(Loc.CR4, CR4_PAE | (levels == 5 ? Mmu.CR4_LA57 : 0));
        s.set(Loc.CR3, root);
        s.set(Loc.EFER, EFER_LME | Mmu.EFER_LMA | Mmu.EFER_NXE | Mmu.EFER_SCE);
        s.set(Loc.STAR, 0x0023_0010_0000_0000L);   // Linux: sysret base 0x23, syscall CS 0x10
        s.set(Loc.SFMASK, 0x47700);                // Linux: TF DF IF IOPL AC NT
        s.set(Loc.SEL0 + 1, cpl == 3 ? USER_CS : KERNEL_CS);
        s.set(Loc.SEL0 + 2, cpl == 3 ? USER_SS : KERNEL_SS);
        s.setRflags(0x202);
        s.setGpr(4, cpl == 3 ? USER_STACK_TOP - 0x100 : kva(KERNEL_STACK_TOP) - 0x100);
        return s;
    }

    /** Writes {@code code} at physical {@code pa}. */
    void load(long pa, int... code) {
        for (int i = 0; i < code.length; i++) {
            bytes[(int) pa + i] = (byte) code[i];
        }
    }

    /** A 64-bit gate for {@code vector}: type 0xE interrupt or 0xF trap, handler at kernel CS. */
    void gate(int vector, long handler, int ist, int type, int dpl) {
        long lo = handler & 0xFFFF | (long) KERNEL_CS << 16 | (long) ist << 32 | (long) type << 40 | (long) dpl << 45
                | 1L << 47 | (handler >>> 16 & 0xFFFF) << 48;
        ram.write(IDT + vector * 16L, 8, lo);
        ram.write(IDT + vector * 16L + 8, 8, handler >>> 32);
    }
}
