package dev.vmsight.ir.decode;

/**
 * Every architectural register an x86-64 operand can name. A general-purpose register view
 * knows its family (0 = rax .. 15 = r15), its width in bytes and whether it is one of the
 * legacy high-byte registers (ah, ch, dh, bh), which live in bits 8..15 of their family.
 */
public enum Register {
    RAX(Kind.GPR, 0, 8), RCX(Kind.GPR, 1, 8), RDX(Kind.GPR, 2, 8), RBX(Kind.GPR, 3, 8),
    RSP(Kind.GPR, 4, 8), RBP(Kind.GPR, 5, 8), RSI(Kind.GPR, 6, 8), RDI(Kind.GPR, 7, 8),
    R8(Kind.GPR, 8, 8), R9(Kind.GPR, 9, 8), R10(Kind.GPR, 10, 8), R11(Kind.GPR, 11, 8),
    R12(Kind.GPR, 12, 8), R13(Kind.GPR, 13, 8), R14(Kind.GPR, 14, 8), R15(Kind.GPR, 15, 8),

    EAX(Kind.GPR, 0, 4), ECX(Kind.GPR, 1, 4), EDX(Kind.GPR, 2, 4), EBX(Kind.GPR, 3, 4),
    ESP(Kind.GPR, 4, 4), EBP(Kind.GPR, 5, 4), ESI(Kind.GPR, 6, 4), EDI(Kind.GPR, 7, 4),
    R8D(Kind.GPR, 8, 4), R9D(Kind.GPR, 9, 4), R10D(Kind.GPR, 10, 4), R11D(Kind.GPR, 11, 4),
    R12D(Kind.GPR, 12, 4), R13D(Kind.GPR, 13, 4), R14D(Kind.GPR, 14, 4), R15D(Kind.GPR, 15, 4),

    AX(Kind.GPR, 0, 2), CX(Kind.GPR, 1, 2), DX(Kind.GPR, 2, 2), BX(Kind.GPR, 3, 2),
    SP(Kind.GPR, 4, 2), BP(Kind.GPR, 5, 2), SI(Kind.GPR, 6, 2), DI(Kind.GPR, 7, 2),
    R8W(Kind.GPR, 8, 2), R9W(Kind.GPR, 9, 2), R10W(Kind.GPR, 10, 2), R11W(Kind.GPR, 11, 2),
    R12W(Kind.GPR, 12, 2), R13W(Kind.GPR, 13, 2), R14W(Kind.GPR, 14, 2), R15W(Kind.GPR, 15, 2),

    AL(Kind.GPR, 0, 1), CL(Kind.GPR, 1, 1), DL(Kind.GPR, 2, 1), BL(Kind.GPR, 3, 1),
    SPL(Kind.GPR, 4, 1), BPL(Kind.GPR, 5, 1), SIL(Kind.GPR, 6, 1), DIL(Kind.GPR, 7, 1),
    R8B(Kind.GPR, 8, 1), R9B(Kind.GPR, 9, 1), R10B(Kind.GPR, 10, 1), R11B(Kind.GPR, 11, 1),
    R12B(Kind.GPR, 12, 1), R13B(Kind.GPR, 13, 1), R14B(Kind.GPR, 14, 1), R15B(Kind.GPR, 15, 1),

    /** Legacy high bytes: bits 8..15 of rax, rcx, rdx, rbx (only without a REX prefix). */
    AH(Kind.GPR_HIGH8, 0, 1), CH(Kind.GPR_HIGH8, 1, 1), DH(Kind.GPR_HIGH8, 2, 1), BH(Kind.GPR_HIGH8, 3, 1),

    RIP(Kind.IP, 0, 8),

    ES(Kind.SEGMENT, 0, 2), CS(Kind.SEGMENT, 1, 2), SS(Kind.SEGMENT, 2, 2),
    DS(Kind.SEGMENT, 3, 2), FS(Kind.SEGMENT, 4, 2), GS(Kind.SEGMENT, 5, 2),

    CR0(Kind.CONTROL, 0, 8), CR2(Kind.CONTROL, 2, 8), CR3(Kind.CONTROL, 3, 8),
    CR4(Kind.CONTROL, 4, 8), CR8(Kind.CONTROL, 8, 8),

    DR0(Kind.DEBUG, 0, 8), DR1(Kind.DEBUG, 1, 8), DR2(Kind.DEBUG, 2, 8), DR3(Kind.DEBUG, 3, 8),
    DR6(Kind.DEBUG, 6, 8), DR7(Kind.DEBUG, 7, 8),

    XMM0(Kind.XMM, 0, 16), XMM1(Kind.XMM, 1, 16), XMM2(Kind.XMM, 2, 16), XMM3(Kind.XMM, 3, 16),
    XMM4(Kind.XMM, 4, 16), XMM5(Kind.XMM, 5, 16), XMM6(Kind.XMM, 6, 16), XMM7(Kind.XMM, 7, 16),
    XMM8(Kind.XMM, 8, 16), XMM9(Kind.XMM, 9, 16), XMM10(Kind.XMM, 10, 16), XMM11(Kind.XMM, 11, 16),
    XMM12(Kind.XMM, 12, 16), XMM13(Kind.XMM, 13, 16), XMM14(Kind.XMM, 14, 16), XMM15(Kind.XMM, 15, 16);

    /** What kind of register file a register belongs to. */
    public enum Kind { GPR, GPR_HIGH8, IP, SEGMENT, CONTROL, DEBUG, XMM }

    private final Kind kind;
    private final int number;
    private final int size;

    Register(Kind kind, int number, int size) {
        this.kind = kind;
        this.number = number;
        this.size = size;
    }

    public Kind kind() { return kind; }

    /** Index within its register file: the GPR family 0..15, the segment 0..5 (ES..GS), CRn, DRn, XMMn. */
    public int number() { return number; }

    /** Width in bytes. */
    public int size() { return size; }

    public boolean isGpr() { return kind == Kind.GPR || kind == Kind.GPR_HIGH8; }

    /** Bit offset of this view inside its 64-bit family: 8 for ah/ch/dh/bh, else 0. */
    public int bitOffset() { return kind == Kind.GPR_HIGH8 ? 8 : 0; }

    private static final Register[][] GPR_BY_SIZE = new Register[9][16];
    static {
        for (Register r : values()) {
            if (r.kind == Kind.GPR) {
                GPR_BY_SIZE[r.size][r.number] = r;
            }
        }
    }

    /** The general-purpose register view of family {@code number} (0..15) and width {@code size} (1, 2, 4, 8). */
    public static Register gpr(int number, int size) {
        Register r = GPR_BY_SIZE[size][number];
        if (r == null) {
            throw new IllegalArgumentException("no GPR " + number + " of size " + size);
        }
        return r;
    }

    /** The 64-bit family register (rax..r15) of a general-purpose view. */
    public Register family() {
        if (!isGpr()) {
            throw new IllegalStateException(this + " is not a general-purpose register");
        }
        return gpr(number, 8);
    }

    /** Lower-case name, as objdump prints it. */
    public String asm() { return name().toLowerCase(java.util.Locale.ROOT); }
}
