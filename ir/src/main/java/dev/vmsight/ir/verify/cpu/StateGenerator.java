package dev.vmsight.ir.verify.cpu;

import dev.vmsight.ir.decode.Instruction;
import dev.vmsight.ir.decode.Mnemonic;

import java.util.SplittableRandom;

/**
 * Seeded, biased random input states: values near the interesting boundaries (0, 1, -1, sign
 * bits of every width, small shift counts) most of the time, uniform otherwise; plus the
 * set-up each {@link Corpus.Trait} asks for. r14 always points into the data window.
 */
final class StateGenerator {
    private StateGenerator() { }

    static final long DATA_ADDR = 0x10000000L;
    static final int DATA_SIZE = 0x3000;
    private static final long STATUS_AND_DF = 0x8D5 | 0x400;

    private static final long[] SPECIAL = {0, 1, 2, -1, -2, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF,
            0x10000, 0x7FFF_FFFFL, 0x8000_0000L, 0xFFFF_FFFFL, 0x1_0000_0000L, Long.MAX_VALUE, Long.MIN_VALUE,
            0xFFFF_FFFF_0000_0000L, 0x8000_0000_0000_0001L, 0x0101_0101_0101_0101L};

    static long biased(SplittableRandom r) {
        int k = r.nextInt(10);
        if (k < 3) {
            return SPECIAL[r.nextInt(SPECIAL.length)];
        }
        if (k < 5) {
            return r.nextInt(70) - (r.nextBoolean() ? 0 : 3);
        }
        if (k < 6) {
            long m = new long[]{0xFF, 0xFFFF, 0xFFFF_FFFFL}[r.nextInt(3)];
            return r.nextLong() & m;
        }
        return r.nextLong();
    }

    static NativeCpu.Input generate(Corpus.Form form, byte[] code, Instruction insn, NativeCpu cpu, SplittableRandom r) {
        long w = cpu.windowAddress;
        long[] g = new long[16];
        for (int i = 0; i < 16; i++) {
            g[i] = biased(r);
        }
        g[14] = w + 0x60;   // memory operands: [r14 + disp]
        long flags = (r.nextLong() & 0x8D5) | 0x202;
        byte[] win = new byte[NativeCpu.WINDOW];
        int fill = r.nextInt(10);
        if (fill < 2) {
            java.util.Arrays.fill(win, (byte) (fill == 0 ? 0 : r.nextInt(256)));
        } else {
            r.nextBytes(win);
        }
        int n = insn.operandSize();
        for (Corpus.Trait t : form.traits()) {
            switch (t) {
                case STACK -> {
                    g[4] = w + 0xC0 - 8L * r.nextInt(4);
                    g[5] = w + 0x40 + 8L * r.nextInt(8);
                }
                case RET -> putLong(win, (int) (g[4] - w), insn.nextAddress());
                case POPF -> putLong(win, (int) (g[4] - w), r.nextLong() & STATUS_AND_DF);
                case STRING -> {
                    g[6] = w + 0x40 + 8L * r.nextInt(8);
                    g[7] = w + 0x80 + 8L * r.nextInt(8);
                    g[1] = r.nextInt(9);
                    flags |= r.nextBoolean() ? 0x400 : 0;
                    if (r.nextInt(3) == 0) {   // let repe scas match for a while
                        g[0] = win[(int) (g[7] - w)] * 0x0101_0101_0101_0101L;
                    }
                }
                case DIV -> {
                    if (r.nextBoolean()) {
                        boolean signed = insn.mnemonic() == Mnemonic.IDIV;
                        if (n == 1) {
                            long al = g[0] & 0xFF;
                            long ah = signed && (al & 0x80) != 0 ? 0xFF : 0;
                            g[0] = (g[0] & ~0xFFFFL) | (ah << 8) | al;
                        } else {
                            long sign = (g[0] >>> (n * 8 - 1)) & 1;
                            g[2] = signed && sign != 0 ? -1 : 0;
                        }
                    }
                }
                case CMPXCHG -> {
                    if (r.nextBoolean()) {
                        if (insn.mnemonic() == Mnemonic.CMPXCHG16B) {
                            putLong(win, 0x60, g[0]);
                            putLong(win, 0x68, g[2]);
                        } else if (insn.mnemonic() == Mnemonic.CMPXCHG8B) {
                            putLong(win, 0x60, (g[0] & 0xFFFF_FFFFL) | (g[2] << 32));
                        } else if (code.length > 0 && form.asm().contains("PTR")) {
                            putLong(win, 0x68, g[0]);
                        } else {
                            g[0] = g[2];   // register forms compare with rdx's view
                        }
                    }
                }
                case BITOFFSET -> g[1] = r.nextInt(0x400) - 0x200;
            }
        }
        long[] xmm = new long[NativeCpu.XMM_LONGS];
        for (int i = 0; i < xmm.length; i++) {
            xmm[i] = biased(r);
        }
        return new NativeCpu.Input(code, g, flags, xmm, win);
    }

    private static void putLong(byte[] b, int off, long v) {
        for (int i = 0; i < 8; i++) {
            b[off + i] = (byte) (v >>> (8 * i));
        }
    }
}
