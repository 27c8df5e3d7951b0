package dev.vmsight.ir.decode;

import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;

/**
 * Prints a decoded instruction in objdump's Intel syntax ({@code mov rax,QWORD PTR [rip+0x10]}),
 * for messages, debugging and the objdump oracle. The mnemonic is objdump's canonical spelling:
 * condition families as {@code je}/{@code setne}/{@code cmovg}, mov to CR/DR/Sreg as {@code mov}.
 */
public final class IntelSyntax {

    private IntelSyntax() { }

    /** {@code "[lock |rep |repne ]mnemonic op1,op2"}. */
    public static String format(Instruction insn) {
        List<String> ops = operands(insn);
        String text = ops.isEmpty() ? name(insn) : name(insn) + " " + String.join(",", ops);
        Instruction.Prefixes p = insn.prefixes();
        boolean string = switch (insn.mnemonic()) {
            case MOVS, STOS, LODS, CMPS, SCAS, INS, OUTS -> true;
            default -> false;
        };
        if (string && p.rep()) {
            text = "rep " + text;
        } else if (string && p.repne()) {
            text = "repne " + text;
        }
        return p.lock() ? "lock " + text : text;
    }

    /** {@code "0x1000: 48 89 e5  mov rbp,rsp"}. */
    public static String describe(Instruction insn) {
        return String.format("0x%x: %s  %s", insn.address(), HexFormat.ofDelimiter(" ").formatHex(insn.bytes()), format(insn));
    }

    /** The mnemonic as objdump spells it (without prefixes and operand-size suffixes). */
    public static String name(Instruction insn) {
        Mnemonic m = insn.mnemonic();
        return switch (m) {
            case JCC -> "j" + insn.condition().name().toLowerCase(Locale.ROOT);
            case SETCC -> "set" + insn.condition().name().toLowerCase(Locale.ROOT);
            case CMOVCC -> "cmov" + insn.condition().name().toLowerCase(Locale.ROOT);
            case MOV_CR, MOV_DR, MOV_SEG -> "mov";
            case CALLF -> "call";
            case JMPF -> "jmp";
            case MOVD -> insn.operandSize() == 8 ? "movq" : "movd";
            default -> m.asm();
        };
    }

    /** Each operand as objdump prints it. */
    public static List<String> operands(Instruction insn) {
        List<String> out = new ArrayList<>();
        boolean one = shiftByImplicitOne(insn);
        for (Operand op : insn.operands()) {
            out.add(format(op, one, insn.mnemonic()));
        }
        return out;
    }

    private static String format(Operand op, boolean implicitOne, Mnemonic mnemonic) {
        if (op instanceof Operand.Reg r) {
            return r.register().asm();
        }
        if (op instanceof Operand.Imm imm) {
            return implicitOne && imm.value() == 1 ? "1" : hex(imm.value(), imm.size());
        }
        if (op instanceof Operand.Rel rel) {
            return "0x" + Long.toHexString(rel.target());
        }
        return mem((Operand.Mem) op, mnemonic);
    }

    /** D0..D3 shift by an implicit 1 (objdump prints "1", not "0x1"). */
    private static boolean shiftByImplicitOne(Instruction insn) {
        for (byte b : insn.bytes()) {
            int v = b & 0xFF;
            boolean prefix = v == 0x66 || v == 0x67 || v == 0xF0 || v == 0xF2 || v == 0xF3 || v == 0x2E || v == 0x3E
                    || v == 0x26 || v == 0x36 || v == 0x64 || v == 0x65 || (v & 0xF0) == 0x40;
            if (!prefix) {
                return v == 0xD0 || v == 0xD1;
            }
        }
        return false;
    }

    private static String mem(Operand.Mem m, Mnemonic mnemonic) {
        // objdump prints no size for moffs and calls cmpxchg16b's operand an OWORD
        String size = mnemonic == Mnemonic.MOVABS ? "" : mnemonic == Mnemonic.CMPXCHG16B ? "OWORD PTR " : sizeWord(m.size());
        StringBuilder sb = new StringBuilder(size);
        if (m.segment() != null) {
            sb.append(m.segment().asm()).append(':');
        }
        if (m.base() == null && m.index() == null) {
            if (m.segment() == null) {
                sb.append("ds:");
            }
            long addr = m.addressSize() == 4 ? m.disp() & 0xFFFF_FFFFL : m.disp();
            return sb.append("0x").append(Long.toHexString(addr)).toString();
        }
        sb.append('[');
        String sep = "";
        if (m.base() != null) {
            sb.append(m.base().asm());
            sep = "+";
        }
        if (m.index() != null) {
            sb.append(sep).append(m.index().asm()).append('*').append(m.scale());
            sep = "+";
        }
        if (m.disp() != 0) {
            if (m.ripRelative() || m.disp() > 0 || sep.isEmpty()) {
                long d = m.addressSize() == 4 && !m.ripRelative() ? m.disp() & 0xFFFF_FFFFL : m.disp();
                sb.append(sep).append("0x").append(Long.toHexString(d));
            } else {
                sb.append("-0x").append(Long.toHexString(-m.disp()));
            }
        }
        return sb.append(']').toString();
    }

    private static String sizeWord(int size) {
        return switch (size) {
            case 1 -> "BYTE PTR ";
            case 2 -> "WORD PTR ";
            case 4 -> "DWORD PTR ";
            case 8 -> "QWORD PTR ";
            case 10 -> "TBYTE PTR ";
            case 16 -> "XMMWORD PTR ";
            default -> "";
        };
    }

    private static String hex(long value, int size) {
        long v = size >= 8 ? value : value & ((1L << (8 * size)) - 1);
        return "0x" + Long.toHexString(v);
    }
}
