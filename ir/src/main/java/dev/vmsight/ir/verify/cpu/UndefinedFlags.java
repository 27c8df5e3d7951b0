package dev.vmsight.ir.verify.cpu;

import dev.vmsight.ir.decode.Instruction;
import dev.vmsight.ir.decode.Operand;

/**
 * The RFLAGS bits the SDM leaves undefined for an instruction on a given input: they are
 * excluded from the comparison (the lifter still writes a documented value, see ir/README.md).
 */
public final class UndefinedFlags {
    private UndefinedFlags() { }

    static final long CF = 1, PF = 4, AF = 0x10, ZF = 0x40, SF = 0x80, OF = 0x800;
    static final long STATUS = CF | PF | AF | ZF | SF | OF;

    public static final String SUMMARY = "logic AF; shifts AF, OF if count>1, CF if count>=width; rotates (rol ror rcl rcr) OF if count>1; "
            + "shld/shrd AF, OF if count>1; mul/imul SF ZF AF PF; div/idiv all; bsf/bsr CF OF SF AF PF; "
            + "bt* OF SF AF PF; tzcnt OF SF AF PF; andn/blsr/blsmsk/blsi AF PF";

    /** The undefined RFLAGS bits of {@code insn} given the GPRs before it (x86 order: cl is gpr[1]). */
    public static long of(Instruction insn, long[] gpr) {
        int bits = insn.operandSize() * 8;
        return switch (insn.mnemonic()) {
            case AND, OR, XOR, TEST -> AF;
            case SHL, SHR, SAR -> {
                long c = count(insn, gpr);
                if (c == 0) {
                    yield 0;
                }
                long u = AF | (c != 1 ? OF : 0);
                if (c >= bits && insn.mnemonic() != dev.vmsight.ir.decode.Mnemonic.SAR) {
                    u |= CF;
                }
                yield u;
            }
            case ROL, ROR, RCL, RCR -> count(insn, gpr) > 1 ? OF : 0;
            case SHLD, SHRD -> {
                long c = count(insn, gpr);
                yield c == 0 ? 0 : AF | (c != 1 ? OF : 0);
            }
            case MUL, IMUL -> SF | ZF | AF | PF;
            case DIV, IDIV -> STATUS;
            case BSF, BSR -> CF | OF | SF | AF | PF;
            case BT, BTS, BTR, BTC -> OF | SF | AF | PF;
            case TZCNT, LZCNT -> OF | SF | AF | PF;
            case ANDN, BLSR, BLSMSK, BLSI -> AF | PF;
            default -> 0;
        };
    }

    /** The masked shift count: the last operand (an immediate or cl), 1 when absent. */
    static long count(Instruction insn, long[] gpr) {
        long mask = insn.operandSize() == 8 ? 63 : 31;
        var ops = insn.operands();
        int need = switch (insn.mnemonic()) {
            case SHLD, SHRD -> 3;
            default -> 2;
        };
        if (ops.size() < need) {
            return 1;
        }
        Operand last = ops.get(ops.size() - 1);
        if (last instanceof Operand.Imm i) {
            return i.value() & mask;
        }
        return gpr[1] & mask;   // cl
    }
}
