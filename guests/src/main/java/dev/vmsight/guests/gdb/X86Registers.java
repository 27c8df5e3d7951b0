package dev.vmsight.guests.gdb;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HexFormat;

/**
 * The x86-64 registers QEMU 7.2's gdbstub returns for {@code g} (608 bytes, little-endian): 16
 * GPRs, rip, eflags (4), cs ss ds es fs gs (4 each), fs_base, gs_base, k_gs_base, cr0 cr2 cr3 cr4
 * cr8, efer (8 each), then x87 state, xmm0-15 and mxcsr (of which only mxcsr is kept here).
 */
public record X86Registers(
        long rax, long rbx, long rcx, long rdx, long rsi, long rdi, long rbp, long rsp,
        long r8, long r9, long r10, long r11, long r12, long r13, long r14, long r15,
        long rip, int eflags,
        int cs, int ss, int ds, int es, int fs, int gs,
        long fsBase, long gsBase, long kernelGsBase,
        long cr0, long cr2, long cr3, long cr4, long cr8, long efer,
        int mxcsr) {

    /** Size of the {@code g} reply on QEMU 7.2, x86-64 target. */
    public static final int G_PACKET_BYTES = 608;
    /** EFER.LMA: long mode active. */
    public static final long EFER_LMA = 1L << 10;
    /** CR3 bits 12..51: the physical address of the top-level page table. */
    public static final long CR3_ROOT_MASK = 0x000F_FFFF_FFFF_F000L;

    private static final int OFFSET_X87 = 236;
    private static final int X87_BYTES = 8 * 10 + 8 * 4;
    private static final int OFFSET_MXCSR = OFFSET_X87 + X87_BYTES + 16 * 16;

    /** Parses the hex payload of a {@code g} reply. */
    public static X86Registers parseHex(String hex) {
        if (hex.length() != 2 * G_PACKET_BYTES) {
            throw new GdbException("gdbstub 'g' reply has " + hex.length() / 2 + " bytes, expected " + G_PACKET_BYTES
                    + " (QEMU 7.2 x86-64 layout)" + (hex.startsWith("E") ? ": " + hex : ""));
        }
        // Registers the stub cannot read come as "xx"; treat them as zero.
        return parse(HexFormat.of().parseHex(hex.replace('x', '0')));
    }

    public static X86Registers parse(byte[] g) {
        if (g.length != G_PACKET_BYTES) {
            throw new GdbException("register block has " + g.length + " bytes, expected " + G_PACKET_BYTES);
        }
        ByteBuffer b = ByteBuffer.wrap(g).order(ByteOrder.LITTLE_ENDIAN);
        long[] gpr = new long[16];
        for (int i = 0; i < 16; i++) gpr[i] = b.getLong();
        long rip = b.getLong();
        int eflags = b.getInt();
        int cs = b.getInt(), ss = b.getInt(), ds = b.getInt(), es = b.getInt(), fs = b.getInt(), gs = b.getInt();
        long fsBase = b.getLong(), gsBase = b.getLong(), kgsBase = b.getLong();
        long cr0 = b.getLong(), cr2 = b.getLong(), cr3 = b.getLong(), cr4 = b.getLong(), cr8 = b.getLong();
        long efer = b.getLong();
        int mxcsr = b.getInt(OFFSET_MXCSR);
        return new X86Registers(gpr[0], gpr[1], gpr[2], gpr[3], gpr[4], gpr[5], gpr[6], gpr[7],
                gpr[8], gpr[9], gpr[10], gpr[11], gpr[12], gpr[13], gpr[14], gpr[15],
                rip, eflags, cs, ss, ds, es, fs, gs, fsBase, gsBase, kgsBase, cr0, cr2, cr3, cr4, cr8, efer, mxcsr);
    }

    /** The page-table root (CR3 without PCID / flag bits): what identifies an address space. */
    public long pageTableRoot() {
        return cr3 & CR3_ROOT_MASK;
    }

    /** Whether the vCPU runs in 64-bit long mode (EFER.LMA). */
    public boolean longMode() {
        return (efer & EFER_LMA) != 0;
    }

    /** Current privilege level: the low two bits of CS. */
    public int cpl() {
        return cs & 3;
    }
}
