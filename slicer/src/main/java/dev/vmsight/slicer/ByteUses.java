package dev.vmsight.slicer;

import dev.vmsight.ir.uop.Loc;
import dev.vmsight.ir.uop.Uop;
import dev.vmsight.ir.uop.UopKind;

/**
 * Byte-granular use rules: given which bytes of a µop's output are live (bit i = byte i), which
 * bytes of input {@code j} it needs. Every µop output writes its whole 64-bit location (a 32-bit
 * write zero-extends; partial writes are MERGE), so a def kills all bytes. Rules follow the µop
 * equations in ir/README.md; anything not listed needs all bytes of every input.
 */
final class ByteUses {
    static final int ALL = 0xFF;

    private ByteUses() { }

    /** Bytes a location has: one for a flag, eight for everything else. */
    static int full(int loc) { return Loc.isFlag(loc) ? 1 : ALL; }

    static int sizeMask(int size) { return (1 << size) - 1; }

    /** Bytes 0..highest live byte: results whose low bytes depend only on the inputs' low bytes (carries go up). */
    static int prefix(int live) { return live == 0 ? 0 : (Integer.highestOneBit(live) << 1) - 1; }

    static int uses(Uop u, int j, int liveOut) {
        if (liveOut == 0 || selfCancelling(u)) {
            return 0;
        }
        int size = sizeMask(u.size());
        int m = switch (u.kind()) {
            case MOV, AND, OR, XOR, NOT -> liveOut;
            case ZEXT -> liveOut & size;
            case ADD, SUB, NEG, MUL -> prefix(liveOut);
            case SEXT, BSWAP, TZCNT, LZCNT, POPCNT, ZERO, CARRY_ADD, OVERFLOW_ADD, BORROW_SUB, OVERFLOW_SUB -> size;
            case SIGN -> 1 << (u.size() - 1);
            case PARITY, AUX -> 1;
            case MERGE -> merge(u, j, liveOut, size);
            case EXTRACT -> extract(u, liveOut, size);
            default -> ALL;
        };
        return m & full(u.in()[j]);
    }

    /** {@code xor r, r} / {@code sub r, r}: the result is 0 whatever r holds (the zeroing idiom reads nothing). */
    static boolean selfCancelling(Uop u) {
        return switch (u.kind()) {
            case XOR, SUB, BORROW_SUB, OVERFLOW_SUB -> u.in().length == 2 && u.in()[0] == u.in()[1];
            default -> false;
        };
    }

    private static int merge(Uop u, int j, int liveOut, int size) {
        long shift = u.imm()[0];
        if (shift % 8 != 0 || shift >= 64) {
            return ALL;
        }
        int at = (int) shift / 8;
        int inserted = (size << at) & ALL;
        return j == 0 ? liveOut & ~inserted : (liveOut & inserted) >>> at;
    }

    private static int extract(Uop u, int liveOut, int size) {
        long shift = u.imm()[0];
        if ((liveOut & size) == 0) {
            return 0;
        }
        if (shift % 8 != 0 || shift >= 64) {
            return ALL;
        }
        return ((liveOut & size) << (int) (shift / 8)) & ALL;
    }

    /**
     * Whether the µop decides the next instruction from machine state: its flags say it ends or
     * redirects control through an input, or it is an opaque transfer (syscall, sysret, iret) whose
     * target is state too (LSTAR, RCX, the interrupt frame) though not an operand.
     */
    static boolean isControl(UopKind k) {
        // JUMP: a rep instruction's jump back to itself, which its EXIT_IF µops leave
        return k == UopKind.JUMP || k.has(UopKind.Flag.COND_BRANCH) || k.has(UopKind.Flag.INDIRECT)
                || k == UopKind.SYSCALL || k == UopKind.SYSRET || k == UopKind.IRET;
    }
}
