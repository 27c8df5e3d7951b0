package dev.vmsight.ir.verify.decoder;

import dev.vmsight.ir.decode.Instruction;
import dev.vmsight.ir.decode.Mnemonic;
import dev.vmsight.ir.decode.Operand;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Operands in objdump's Intel syntax, to compare the decoder's operands with objdump's text.
 * Both sides are normalised the same way where objdump prints what the CPU ignores: the
 * es:/ds:/cs:/ss: segment of a bracketed address (no effect in 64-bit mode), an explicit
 * "+0x0" displacement, the symbol after a branch target, and the size word of memory
 * operands the decoder leaves unsized (lea, prefetch, descriptor tables, state areas).
 */
final class ObjdumpOperands {

    private static final Pattern NULL_SEGMENT = Pattern.compile("\\b(cs|ds|es|ss):(?=\\[)");
    private static final Pattern SIZE_WORD = Pattern.compile("^\\w+ PTR ");

    private ObjdumpOperands() { }

    /** objdump's operand text split at top-level commas and normalised; the symbol annotation dropped. */
    static List<String> normaliseObjdump(String operands) {
        String s = operands;
        int lt = s.indexOf(" <");
        if (lt >= 0) {
            s = s.substring(0, lt);
        }
        List<String> out = new ArrayList<>();
        if (s.isBlank()) {
            return out;
        }
        for (String op : s.split(",")) {
            out.add(normalise(op.strip()));
        }
        return out;
    }

    private static String normalise(String op) {
        return NULL_SEGMENT.matcher(op).replaceAll("").replace("+0x0]", "]");
    }

    /** Our operands as objdump would print them, after the same normalisation. */
    static List<String> format(Instruction insn) {
        List<String> out = new ArrayList<>();
        boolean one = shiftByImplicitOne(insn);
        for (Operand op : insn.operands()) {
            out.add(normalise(format(op, one, insn.mnemonic())));
        }
        return out;
    }

    /** True if objdump's operand list matches ours; an unsized memory operand of ours matches any size word. */
    static boolean matches(List<String> objdump, Instruction insn, List<String> ours) {
        if (objdump.size() != ours.size()) {
            return false;
        }
        for (int i = 0; i < ours.size(); i++) {
            String theirs = objdump.get(i);
            if (insn.operand(i) instanceof Operand.Mem m && m.size() == 0) {
                theirs = SIZE_WORD.matcher(theirs).replaceFirst("");
            }
            if (!theirs.equals(ours.get(i))) {
                return false;
            }
        }
        return true;
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
