package dev.vmsight.ir.uop;

import java.util.ArrayList;
import java.util.List;

/**
 * The locations a µop operand names: architectural state (each GPR, RIP, every flag bit, the
 * segment bases, system registers, XMM halves) and, from {@link #TEMP0} on, per-instruction
 * temporaries. All are 64-bit; a flag location only ever holds 0 or 1. A location is a plain
 * {@code int}, so that a machine state is one {@code long[]} indexed by it.
 */
public final class Loc {
    private Loc() { }

    /** rax..r15 are 0..15 (the x86 register number). */
    public static final int GPR0 = 0;
    public static final int RIP = 16;
    public static final int CF = 17, PF = 18, AF = 19, ZF = 20, SF = 21, OF = 22, DF = 23;
    /** System half of RFLAGS: each its own location too (IOPL holds 0..3). */
    public static final int IF = 24, TF = 25, AC = 26, NT = 27, IOPL = 28, RF = 29, ID = 30;
    public static final int FS_BASE = 31, GS_BASE = 32, KERNEL_GS_BASE = 33;
    /** Segment selectors ES, CS, SS, DS, FS, GS (the CPL is CS & 3). */
    public static final int SEL0 = 34;
    public static final int CR0 = 40, CR2 = 41, CR3 = 42, CR4 = 43, CR8 = 44;
    public static final int EFER = 45, STAR = 46, LSTAR = 47, CSTAR = 48, SFMASK = 49;
    public static final int TSC_AUX = 50, MXCSR = 51;
    /** xmm0..xmm15 as (low, high) 64-bit halves: xmm n is XMM0 + 2n (low) and XMM0 + 2n + 1 (high). */
    public static final int XMM0 = 52;
    /** Number of architectural locations; temporaries follow. */
    public static final int ARCH_COUNT = XMM0 + 32;
    public static final int TEMP0 = ARCH_COUNT;
    /** Temporaries a single instruction may use. */
    public static final int MAX_TEMPS = 64;
    /** Size of a machine-state array: architectural locations and temporaries. */
    public static final int COUNT = TEMP0 + MAX_TEMPS;

    /** The RFLAGS bit of each 1-bit flag location, in the order CF PF AF ZF SF OF DF IF TF AC NT RF ID. */
    public static final int[] FLAG_LOCS = {CF, PF, AF, ZF, SF, OF, DF, IF, TF, AC, NT, RF, ID};
    public static final int[] FLAG_BITS = {0, 2, 4, 6, 7, 11, 10, 9, 8, 18, 14, 16, 21};
    /** The six arithmetic status flags. */
    public static final List<Integer> STATUS_FLAGS = List.of(CF, PF, AF, ZF, SF, OF);

    private static final String[] NAMES = new String[COUNT];
    static {
        String[] gpr = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"};
        System.arraycopy(gpr, 0, NAMES, 0, 16);
        String[] rest = {"rip", "cf", "pf", "af", "zf", "sf", "of", "df", "if", "tf", "ac", "nt", "iopl",
                "rf", "id", "fs.base", "gs.base", "kernel_gs.base", "es", "cs", "ss", "ds", "fs", "gs",
                "cr0", "cr2", "cr3", "cr4", "cr8", "efer", "star", "lstar", "cstar", "sfmask", "tsc_aux", "mxcsr"};
        System.arraycopy(rest, 0, NAMES, 16, rest.length);
        for (int i = 0; i < 16; i++) {
            NAMES[XMM0 + 2 * i] = "xmm" + i + ".lo";
            NAMES[XMM0 + 2 * i + 1] = "xmm" + i + ".hi";
        }
        for (int i = 0; i < MAX_TEMPS; i++) {
            NAMES[TEMP0 + i] = "t" + i;
        }
    }

    public static boolean isTemp(int loc) { return loc >= TEMP0; }

    public static boolean isFlag(int loc) { return loc >= CF && loc <= ID && loc != IOPL; }

    public static String name(int loc) {
        if (loc < 0 || loc >= COUNT) {
            throw new IllegalArgumentException("no location " + loc);
        }
        return NAMES[loc];
    }

    /** Architectural locations only, in index order (useful for state comparison). */
    public static List<Integer> architectural() {
        List<Integer> all = new ArrayList<>(ARCH_COUNT);
        for (int i = 0; i < ARCH_COUNT; i++) {
            all.add(i);
        }
        return all;
    }
}
