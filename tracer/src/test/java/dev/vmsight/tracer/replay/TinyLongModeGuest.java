package dev.vmsight.tracer.replay;

import dev.vmsight.ir.sys.PhysMem;
import dev.vmsight.ir.uop.Loc;
import dev.vmsight.tracer.trace.TraceHeader;

/**
 * A 4 MiB long-mode machine in a byte array for replay tests: 4-level page tables identity-mapping
 * the first 2 MiB in 4 KiB user+writable pages except {@link #HOLE} (not present), a GDT with a
 * 64-bit ring-0 code segment at 0x10, an IDT and a TSS. Tests put code at the addresses they use.
 */
final class TinyLongModeGuest {
    static final long PML4 = 0x1000, PDPT = 0x2000, PD = 0x3000, PT = 0x4000;
    static final long GDT = 0x5000, TSS = 0x6000, IDT = 0x7000, HOLE = 0x9000;
    static final long STACK_TOP = 0x30000;
    static final long PRESENT_RW_USER = 7;

    final byte[] bytes = new byte[4 << 20];
    final PhysMem ram = PhysMem.of(bytes);

    TinyLongModeGuest() {
        ram.write(PML4, 8, PDPT | PRESENT_RW_USER);
        ram.write(PDPT, 8, PD | PRESENT_RW_USER);
        ram.write(PD, 8, PT | PRESENT_RW_USER);
        for (long page = 0; page < 512; page++) {
            if (page * 0x1000 != HOLE) {
                ram.write(PT + 8 * page, 8, page * 0x1000 | PRESENT_RW_USER);
            }
        }
        ram.write(GDT + 0x10, 8, 0x00af9b000000ffffL);   // 64-bit code, DPL 0
        ram.write(GDT + 0x18, 8, 0x00cf93000000ffffL);   // data
    }

    /** Puts {@code code} at physical = linear {@code address}. */
    void load(long address, int... code) {
        for (int i = 0; i < code.length; i++) {
            bytes[(int) address + i] = (byte) code[i];
        }
    }

    /** A 64-bit interrupt gate for {@code vector} to {@code handler} at CS 0x10, DPL 0, no IST. */
    void gate(int vector, long handler) {
        long lo = handler & 0xFFFF | 0x10L << 16 | 0xEL << 40 | 1L << 47 | (handler >>> 16 & 0xFFFF) << 48;
        ram.write(IDT + vector * 16L, 8, lo);
        ram.write(IDT + vector * 16L + 8, 8, handler >>> 32);
    }

    /** Ring 0 at {@code rip}, long mode with paging and WP, SCE, Linux's STAR, interrupts off. */
    TraceHeader.StartState start(long rip, long lstar) {
        long[] a = new long[Loc.ARCH_COUNT];
        a[Loc.RIP] = rip;
        a[Loc.GPR0 + 4] = STACK_TOP;
        a[Loc.SEL0 + 1] = 0x10;
        a[Loc.SEL0 + 2] = 0x18;
        a[Loc.CR0] = 0x8001_0011L;     // PG WP ET PE
        a[Loc.CR3] = PML4;
        a[Loc.CR4] = 0x20;             // PAE
        a[Loc.EFER] = 0x501;           // LMA LME SCE
        a[Loc.STAR] = 0x0023_0010_0000_0000L;
        a[Loc.LSTAR] = lstar;
        a[Loc.SFMASK] = 0x47700;
        return new TraceHeader.StartState(a, GDT, 0x1f, IDT, 0xfff, TSS, 40);
    }
}
