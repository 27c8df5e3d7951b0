package dev.vmsight.ir.verify.decoder;

import dev.vmsight.ir.decode.Instruction;
import dev.vmsight.ir.decode.IntelSyntax;
import dev.vmsight.ir.decode.Mnemonic;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Objdump's Intel-syntax spelling versus the decoder's mnemonics: both sides are reduced to one
 * canonical name (objdump's, without prefix words and operand-size suffixes).
 */
final class ObjdumpNames {

    /** Words objdump prints before the mnemonic for prefixes (or superseded REX bytes). */
    private static final Set<String> PREFIX_WORDS = Set.of("lock", "rep", "repz", "repe", "repnz", "repne", "bnd",
            "notrack", "data16", "data32", "addr32", "addr16", "cs", "ds", "es", "ss", "fs", "gs", "xacquire",
            "xrelease", "{vex}", "{vex3}", "{evex}");

    /** objdump's operand-size spellings of one operation. */
    private static final Map<String, String> SUFFIXED = Map.ofEntries(
            Map.entry("iretq", "iret"), Map.entry("iretd", "iret"), Map.entry("iretw", "iret"),
            Map.entry("sysretq", "sysret"), Map.entry("sysretd", "sysret"),
            Map.entry("sysexitq", "sysexit"), Map.entry("sysexitl", "sysexit"),
            Map.entry("retfq", "retf"), Map.entry("retfw", "retf"), Map.entry("lret", "retf"),
            Map.entry("pushfq", "pushf"), Map.entry("pushfw", "pushf"),
            Map.entry("popfq", "popf"), Map.entry("popfw", "popf"),
            Map.entry("fxsave64", "fxsave"), Map.entry("fxrstor64", "fxrstor"),
            Map.entry("xsave64", "xsave"), Map.entry("xrstor64", "xrstor"), Map.entry("xsaveopt64", "xsaveopt"),
            Map.entry("xsavec64", "xsavec"), Map.entry("xsaves64", "xsaves"), Map.entry("xrstors64", "xrstors"),
            Map.entry("xlatb", "xlat"), Map.entry("sal", "shl"), Map.entry("sysexitd", "sysexit"),
            Map.entry("pushw", "push"), Map.entry("popw", "pop"), Map.entry("retw", "ret"), Map.entry("enterw", "enter"),
            Map.entry("leavew", "leave"), Map.entry("callw", "call"), Map.entry("jmpw", "jmp"));

    /** objdump's fwait-prefixed forms: 9B followed by the no-wait instruction, printed as one. */
    static final Map<String, String> WAIT_FORMS = Map.of("finit", "fninit", "fclex", "fnclex", "fstsw", "fnstsw",
            "fstcw", "fnstcw", "fsave", "fnsave", "fstenv", "fnstenv");

    private static final Map<String, Mnemonic> BY_NAME = new HashMap<>();
    static {
        for (Mnemonic m : Mnemonic.values()) {
            BY_NAME.putIfAbsent(m.asm(), m);
        }
        BY_NAME.put("mov", Mnemonic.MOV);
        BY_NAME.put("call", Mnemonic.CALL);
        BY_NAME.put("jmp", Mnemonic.JMP);
        for (String cc : new String[] {"o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"}) {
            BY_NAME.put("j" + cc, Mnemonic.JCC);
            BY_NAME.put("set" + cc, Mnemonic.SETCC);
            BY_NAME.put("cmov" + cc, Mnemonic.CMOVCC);
        }
        BY_NAME.put("movq", Mnemonic.MOVQ);
    }

    private ObjdumpNames() { }

    /** The text after the address: mnemonic (with prefix words) and operands, split into the canonical name and the rest. */
    record Parsed(String name, String operands, boolean prefixOnly) {
        /** objdump's "(bad)", or an instruction it prints with a "(bad)" or "?" operand (cr1, segment 6...): #UD on the CPU. */
        boolean invalid() {
            return name.equals("(bad)") || operands.contains("(bad)") || operands.matches("(^|.*,)\\?(,.*|$)");
        }
    }

    static Parsed parse(String text) {
        String s = text.strip();
        int hash = s.indexOf("  #");
        if (hash >= 0) {
            s = s.substring(0, hash).strip();
        }
        while (true) {
            int sp = s.indexOf(' ');
            String word = sp < 0 ? s : s.substring(0, sp);
            if (isPrefixWord(word)) {
                if (sp < 0) {
                    return new Parsed(word, "", true);
                }
                s = s.substring(sp + 1).strip();
                continue;
            }
            String ops = sp < 0 ? "" : s.substring(sp + 1).strip();
            String name = word.toLowerCase(Locale.ROOT);
            return new Parsed(SUFFIXED.getOrDefault(name, name), ops, false);
        }
    }

    private static boolean isPrefixWord(String w) {
        return PREFIX_WORDS.contains(w) || w.startsWith("rex.") || w.equals("rex") || w.equals("rex64");
    }

    /** The canonical name of a decoded instruction, in objdump's spelling. */
    static String nameOf(Instruction insn) {
        return IntelSyntax.name(insn);
    }

    /** The class of an objdump instruction, from its name, its operands and its first opcode byte. */
    static InstructionClass classify(Parsed p, int opcodeByte) {
        Mnemonic m = BY_NAME.get(p.name());
        if (m != null) {
            return switch (m.category()) {
                case GENERAL_PURPOSE -> InstructionClass.GENERAL_PURPOSE;
                case SYSTEM -> InstructionClass.SYSTEM;
                case SSE_X87 -> InstructionClass.SSE_X87;
            };
        }
        String ops = p.operands();
        if (opcodeByte == 0xC4 || opcodeByte == 0xC5 || opcodeByte == 0x62 || ops.contains("ymm") || ops.contains("zmm")
                || ops.contains("tmm") || ops.contains("{")) {
            return InstructionClass.OTHER;                      // VEX/EVEX (AVX, AMX)
        }
        if ((opcodeByte >= 0xD8 && opcodeByte <= 0xDF) || p.name().startsWith("f") || ops.contains("xmm")
                || ops.contains("mm")) {
            return InstructionClass.SSE_X87;
        }
        if (p.name().startsWith("vm") || p.name().startsWith("inv") || p.name().startsWith("enc")) {
            return InstructionClass.SYSTEM;
        }
        return InstructionClass.GENERAL_PURPOSE;
    }
}
