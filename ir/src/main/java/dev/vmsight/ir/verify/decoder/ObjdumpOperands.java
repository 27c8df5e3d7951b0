package dev.vmsight.ir.verify.decoder;

import dev.vmsight.ir.decode.Instruction;
import dev.vmsight.ir.decode.IntelSyntax;
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
        for (String op : IntelSyntax.operands(insn)) {
            out.add(normalise(op));
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

}
