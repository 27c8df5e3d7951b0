package dev.vmsight.ir.verify.decoder;

import dev.vmsight.ir.decode.Instruction;
import dev.vmsight.ir.decode.Mnemonic;

/**
 * Encodings where objdump (binutils 2.40) and the CPU, as the Intel SDM describes it, disagree,
 * and the decoder follows the CPU. The oracle counts these apart from mismatches and names them
 * in its details; none occurs in the kernel's .text, they show up in the opcode sweep.
 */
enum KnownDivergence {
    /**
     * A REX byte followed by another prefix is ignored by the CPU (SDM vol. 2 §2.2.1); objdump
     * still lets it change the operand size or register numbers of what follows.
     */
    SUPERSEDED_REX,
    /** 0F 1A/0F 1B: objdump decodes MPX bnd*; without MPX (all current CPUs) they are hint NOPs. */
    MPX_HINT_NOP,
    /** F3 0F 1E /1 (rdsspd/q): a NOP unless CET shadow stacks are enabled. */
    CET_HINT_NOP,
    /** 0F AE F8-FF: SFENCE ignores ModRM.rm (SDM "SFENCE"); objdump refuses some of them. */
    SFENCE_RM_IGNORED;

    /** The divergence that explains a disagreement at {@code offset}, or null if none does. */
    static KnownDivergence of(byte[] code, int offset, Instruction ours) {
        int i = offset;
        boolean rep3 = false;
        int end = Math.min(code.length, offset + 15);
        while (i < end && isPrefix(code[i] & 0xFF)) {
            int b = code[i] & 0xFF;
            rep3 |= b == 0xF3;
            if ((b & 0xF0) == 0x40 && i + 1 < end && isPrefix(code[i + 1] & 0xFF)) {
                return SUPERSEDED_REX;
            }
            i++;
        }
        if (i + 2 >= end) {
            return null;
        }
        int op = code[i] & 0xFF;
        int op2 = code[i + 1] & 0xFF;
        int modrm = code[i + 2] & 0xFF;
        if (op == 0x0F && (op2 == 0x1A || op2 == 0x1B)) {
            return MPX_HINT_NOP;
        }
        if (op == 0x0F && op2 == 0x1E && rep3 && (modrm & 0xF8) == 0xC8) {
            return CET_HINT_NOP;
        }
        if (op == 0x0F && op2 == 0xAE && modrm >= 0xF8 && ours != null && ours.mnemonic() == Mnemonic.SFENCE) {
            return SFENCE_RM_IGNORED;
        }
        return null;
    }

    private static boolean isPrefix(int b) {
        return switch (b) {
            case 0xF0, 0xF2, 0xF3, 0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65, 0x66, 0x67 -> true;
            default -> (b & 0xF0) == 0x40;
        };
    }
}
