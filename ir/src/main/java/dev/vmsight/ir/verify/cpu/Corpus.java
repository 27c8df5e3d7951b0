package dev.vmsight.ir.verify.cpu;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * The user-mode instruction forms the CPU oracle runs: mnemonic × operand kinds × sizes.
 * Conventions the state generator relies on: memory operands use base r14 (pointed into the
 * data window), so r14 is never a register operand; a {@link Trait} asks for the extra set-up
 * a form needs.
 */
final class Corpus {
    private Corpus() { }

    /** What a form needs from the random state. */
    enum Trait {
        /** rsp (and rbp) point into the data window */
        STACK,
        /** [rsp] holds the next instruction's address */
        RET,
        /** [rsp] holds a random status-flags image */
        POPF,
        /** rsi, rdi into the window; rcx small; DF random */
        STRING,
        /** divisor-friendly dividend half the time */
        DIV,
        /** half the time the accumulator equals the compared destination */
        CMPXCHG,
        /** a register bit offset bounded to the window (bt m, r) */
        BITOFFSET
    }

    record Form(String asm, Set<Trait> traits) {
        Form(String asm, Trait... traits) {
            this(asm, traits.length == 0 ? EnumSet.noneOf(Trait.class) : EnumSet.of(traits[0], traits));
        }
    }

    private static final String[] PTR = {null, "BYTE", "WORD", null, "DWORD", null, null, null, "QWORD"};
    /** Register-pair operands per size (no r14, no rsp). */
    private static final String[][][] PAIRS = {
            null,
            {{"al", "cl"}, {"ah", "bh"}, {"r9b", "sil"}, {"dh", "al"}},
            {{"ax", "cx"}, {"r10w", "si"}},
            null,
            {{"eax", "ecx"}, {"r9d", "edx"}},
            null, null, null,
            {{"rax", "rcx"}, {"r11", "rdx"}},
    };
    private static final int[] SIZES = {1, 2, 4, 8};

    static String mem(int size) { return PTR[size] + " PTR [r14+8]"; }

    static List<Form> forms() {
        List<Form> f = new ArrayList<>();
        String[] alu = {"add", "adc", "sub", "sbb", "and", "or", "xor", "cmp"};
        for (String m : alu) {
            for (int s : SIZES) {
                for (String[] p : PAIRS[s]) {
                    f.add(new Form(m + " " + p[0] + ", " + p[1]));
                }
                String r = PAIRS[s][0][0];
                String r2 = PAIRS[s][PAIRS[s].length - 1][1];
                f.add(new Form(m + " " + r2 + ", " + mem(s)));
                f.add(new Form(m + " " + mem(s) + ", " + r2));
                f.add(new Form(m + " " + r + ", 0x41"));                // accumulator short form
                f.add(new Form(m + " " + r2 + ", -0x3"));
                f.add(new Form(m + " " + mem(s) + ", 0x7f"));
                if (s >= 4) {
                    f.add(new Form(m + " " + PAIRS[s][1][0] + ", 0x12345"));
                } else if (s == 2) {
                    f.add(new Form(m + " " + PAIRS[s][1][0] + ", 0x1234"));
                }
            }
        }
        for (int s : SIZES) {
            for (String[] p : PAIRS[s]) {
                f.add(new Form("test " + p[0] + ", " + p[1]));
            }
            f.add(new Form("test " + mem(s) + ", " + PAIRS[s][0][1]));
            f.add(new Form("test " + PAIRS[s][0][0] + ", 0x41"));
            f.add(new Form("test " + mem(s) + ", 0x11"));
        }
        for (String m : new String[]{"inc", "dec", "neg", "not"}) {
            for (int s : SIZES) {
                f.add(new Form(m + " " + PAIRS[s][0][0]));
                f.add(new Form(m + " " + mem(s)));
            }
            f.add(new Form(m + " bh"));
        }
        for (String m : new String[]{"mul", "imul"}) {
            for (int s : SIZES) {
                f.add(new Form(m + " " + PAIRS[s][0][1]));
                f.add(new Form(m + " " + mem(s)));
            }
        }
        for (String m : new String[]{"div", "idiv"}) {
            for (int s : SIZES) {
                f.add(new Form(m + " " + PAIRS[s][0][1], Trait.DIV));
                f.add(new Form(m + " " + mem(s), Trait.DIV));
            }
        }
        for (int s : new int[]{2, 4, 8}) {
            String[] p = PAIRS[s][1];
            f.add(new Form("imul " + p[0] + ", " + p[1]));
            f.add(new Form("imul " + p[0] + ", " + mem(s)));
            f.add(new Form("imul " + p[0] + ", " + p[1] + ", -0x5"));
            f.add(new Form("imul " + p[0] + ", " + mem(s) + ", 0x1234"));
        }
        for (String m : new String[]{"shl", "shr", "sar", "rol", "ror", "rcl", "rcr"}) {
            for (int s : SIZES) {
                String r = PAIRS[s][0][0];
                f.add(new Form(m + " " + r + ", 1"));
                f.add(new Form(m + " " + r + ", cl"));
                f.add(new Form(m + " " + PAIRS[s][1][0] + ", " + (s * 8 - 3)));
                f.add(new Form(m + " " + r + ", 0"));
                f.add(new Form(m + " " + mem(s) + ", cl"));
                f.add(new Form(m + " " + mem(s) + ", 3"));
            }
            f.add(new Form(m + " ah, cl"));
        }
        for (String m : new String[]{"shld", "shrd"}) {
            for (int s : new int[]{4, 8}) {
                String[] p = PAIRS[s][0];
                f.add(new Form(m + " " + p[0] + ", " + p[1] + ", 1"));
                f.add(new Form(m + " " + p[0] + ", " + p[1] + ", 7"));
                f.add(new Form(m + " " + p[0] + ", " + p[1] + ", cl"));
                f.add(new Form(m + " " + mem(s) + ", " + p[1] + ", cl"));
            }
            f.add(new Form(m + " ax, cx, 5"));
            f.add(new Form(m + " ax, cx, 1"));
        }
        for (String m : new String[]{"bt", "bts", "btr", "btc"}) {
            for (int s : new int[]{2, 4, 8}) {
                String[] p = PAIRS[s][0];
                f.add(new Form(m + " " + p[0] + ", " + p[1]));
                f.add(new Form(m + " " + p[0] + ", " + (s * 8 - 5)));
                f.add(new Form(m + " " + mem(s) + ", 0x" + Integer.toHexString(s * 8 + 3)));
                f.add(new Form(m + " " + PTR[s] + " PTR [r14+0x40], " + p[1], Trait.BITOFFSET));
            }
        }
        for (String m : new String[]{"bsf", "bsr", "tzcnt", "popcnt"}) {
            for (int s : new int[]{2, 4, 8}) {
                String[] p = PAIRS[s][1];
                f.add(new Form(m + " " + p[0] + ", " + p[1]));
                f.add(new Form(m + " " + p[0] + ", " + mem(s)));
            }
        }
        for (String s : new String[]{"andn eax, ecx, edx", "andn rax, rcx, QWORD PTR [r14+8]", "shlx eax, ecx, edx",
                "shrx rax, QWORD PTR [r14+8], rcx", "sarx r9d, r10d, ecx", "sarx rax, rcx, rdx", "rorx eax, ecx, 5",
                "rorx rax, QWORD PTR [r14+8], 0x3f", "blsr eax, ecx", "blsr rax, rcx", "blsmsk rax, rcx", "blsmsk edx, eax",
                "blsi r9, QWORD PTR [r14+8]", "blsi eax, ecx", "mulx r9, r10, rcx", "mulx eax, ecx, ebx",
                "mulx rax, rax, rcx", "adcx eax, ecx", "adox rax, rcx", "adcx rdx, QWORD PTR [r14+8]"}) {
            f.add(new Form(s));
        }
        for (String s : new String[]{"pxor xmm0, xmm1", "pxor xmm2, XMMWORD PTR [r14]", "xorps xmm3, xmm0",
                "pand xmm0, xmm1", "por xmm2, XMMWORD PTR [r14]", "movdqu xmm1, XMMWORD PTR [r14+8]",
                "movdqu XMMWORD PTR [r14+8], xmm2", "movdqa xmm0, xmm3", "movdqa xmm1, XMMWORD PTR [r14]",
                "movaps xmm1, XMMWORD PTR [r14]", "movups XMMWORD PTR [r14+0x18], xmm0", "movups xmm3, xmm2",
                "movd xmm0, ecx", "movd eax, xmm1", "movd xmm3, DWORD PTR [r14+8]", "movd DWORD PTR [r14+8], xmm2",
                "movq xmm2, rdx", "movq rcx, xmm3", "movq xmm1, QWORD PTR [r14+8]", "movq QWORD PTR [r14+8], xmm0",
                "movq xmm0, xmm1"}) {
            f.add(new Form(s));
        }
        f.add(new Form("bswap eax"));
        f.add(new Form("bswap r10"));
        f.add(new Form("movbe ecx, DWORD PTR [r14+8]"));
        f.add(new Form("movbe QWORD PTR [r14+8], rdx"));
        // moves and partial registers
        for (String s : new String[]{"mov rax, rcx", "mov eax, ecx", "mov ax, cx", "mov al, cl", "mov ah, cl",
                "mov dh, bl", "mov r10b, sil", "mov r9w, ax", "mov r9d, r10d", "mov rdx, QWORD PTR [r14+8]",
                "mov ecx, DWORD PTR [r14+0x1c]", "mov QWORD PTR [r14+0x1c], rbx", "mov WORD PTR [r14+8], bx",
                "mov bh, ch", "mov eax, 0x87654321", "mov rax, -0x2",
                "movabs rcx, 0x123456789abcdef0", "mov DWORD PTR [r14+8], 0x12345678", "mov QWORD PTR [r14+8], -0x80",
                "mov ax, 0x1234", "mov r12b, 0x81",
                "movzx eax, cl", "movzx eax, ch", "movzx rax, WORD PTR [r14+8]", "movzx cx, BYTE PTR [r14+8]",
                "movzx r9d, r10w", "movsx eax, cl", "movsx eax, bh", "movsx rcx, WORD PTR [r14+8]", "movsx dx, al",
                "movsxd rax, ecx", "movsxd r10, DWORD PTR [r14+8]",
                "lea rax, [rcx+rdx*4+0x10]", "lea eax, [rcx+rdx]", "lea ax, [rcx+8]", "lea r9, [r10+r11*8-0x7]",
                "lea rdx, [rbx*2]", "lea ecx, [ebx+eax*2+0x3]",
                "xchg rax, rcx", "xchg ecx, edx", "xchg ax, r10w", "xchg ah, bl", "xchg QWORD PTR [r14+8], rdx",
                "xchg DWORD PTR [r14+8], esi",
                "cbw", "cwde", "cdqe", "cwd", "cdq", "cqo",
                "clc", "stc", "cmc", "cld", "std", "lahf", "sahf",
                "nop", "nop DWORD PTR [rax+rax*1+0x0]", "pause", "lfence", "mfence", "sfence",
                "prefetcht0 [r14]", "prefetchw [r14]", "endbr64",
                "mov eax, ss", "mov rcx, ds", "mov ax, ss", "mov WORD PTR [r14+8], ss", "mov r9d, fs"}) {
            f.add(new Form(s));
        }
        for (int s : SIZES) {
            String[] p = PAIRS[s][0];
            f.add(new Form("xadd " + p[0] + ", " + p[1]));
            f.add(new Form("xadd " + mem(s) + ", " + p[1]));
            f.add(new Form("lock xadd " + mem(s) + ", " + p[1]));
            String dst = new String[]{null, "dl", "dx", null, "edx", null, null, null, "rdx"}[s];
            String src = new String[]{null, "bl", "bx", null, "ebx", null, null, null, "rbx"}[s];
            f.add(new Form("cmpxchg " + dst + ", " + src, Trait.CMPXCHG));
            f.add(new Form("cmpxchg " + mem(s) + ", " + src, Trait.CMPXCHG));
            f.add(new Form("lock cmpxchg " + mem(s) + ", " + src, Trait.CMPXCHG));
        }
        f.add(new Form("lock cmpxchg16b XMMWORD PTR [r14]", Trait.CMPXCHG));
        f.add(new Form("cmpxchg16b XMMWORD PTR [r14]", Trait.CMPXCHG));
        f.add(new Form("lock cmpxchg8b QWORD PTR [r14]", Trait.CMPXCHG));
        f.add(new Form("lock add QWORD PTR [r14+8], rax"));
        f.add(new Form("lock inc DWORD PTR [r14+8]"));
        f.add(new Form("lock bts QWORD PTR [r14+8], rcx", Trait.BITOFFSET));
        f.add(new Form("lock btr DWORD PTR [r14+8], 0x5"));
        String[] cc = {"o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"};
        for (String c : cc) {
            f.add(new Form("set" + c + " al"));
            f.add(new Form("set" + c + " BYTE PTR [r14+8]"));
            f.add(new Form("cmov" + c + " rax, rcx"));
            f.add(new Form("cmov" + c + " eax, ecx"));
        }
        for (String c : cc) {   // a conditional branch over "inc rax": rax tells whether it was taken
            f.add(new Form("j" + c + " 1f;inc rax;1:"));
        }
        f.add(new Form("jrcxz 1f;inc rax;1:"));
        f.add(new Form("jecxz 1f;inc rax;1:"));
        f.add(new Form("loop 1f;inc rax;1:"));
        f.add(new Form("loope 1f;inc rax;1:"));
        f.add(new Form("loopne 1f;inc rax;1:"));
        f.add(new Form("jmp 1f;inc rax;1:"));
        f.add(new Form("jmp 1f;inc rax;jmp 2f;1:inc rdx;2:"));
        f.add(new Form("cmovne dx, WORD PTR [r14+8]"));
        f.add(new Form("cmovl r9, QWORD PTR [r14+8]"));
        // strings
        String[] sfx = {null, "b", "w", null, "d", null, null, null, "q"};
        for (int s : SIZES) {
            String x = sfx[s];
            String pt = PTR[s] + " PTR";
            for (String pre : new String[]{"", "rep "}) {
                f.add(new Form(pre + "movs " + pt + " [rdi], " + pt + " [rsi]", Trait.STRING));
                f.add(new Form(pre + "stos" + x, Trait.STRING));
                f.add(new Form(pre + "lods" + x, Trait.STRING));
            }
            for (String pre : new String[]{"", "repe ", "repne "}) {
                f.add(new Form(pre + "cmps " + pt + " [rsi], " + pt + " [rdi]", Trait.STRING));
                f.add(new Form(pre + "scas" + x, Trait.STRING));
            }
        }
        // stack
        for (String s : new String[]{"push rax", "push r12", "push rsp", "push 0x7f", "push -0x12345",
                "push QWORD PTR [r14+8]", "push ax", "pop rcx", "pop r13", "pop QWORD PTR [r14+8]", "pop ax",
                "pop rsp", "leave", "pushfq", "call 1f;1:", "pop QWORD PTR [rsp+8]", "push QWORD PTR [rsp+8]",
                "pop WORD PTR [rsp]", "add QWORD PTR [rsp+0x10], rax", "lea rax, [rsp-0x10]"}) {
            f.add(new Form(s, Trait.STACK));
        }
        f.add(new Form("ret", Trait.STACK, Trait.RET));
        f.add(new Form("ret 0x10", Trait.STACK, Trait.RET));
        // indirect control and RIP-relative addressing, natively
        f.add(new Form("lea rcx, [rip+1f];jmp rcx;inc rax;1:"));
        f.add(new Form("lea rcx, [rip+1f];call rcx;1:", Trait.STACK));
        f.add(new Form("lea rdx, [rip+1f];mov QWORD PTR [r14+8], rdx;jmp QWORD PTR [r14+8];inc rax;1:"));
        f.add(new Form("popfq", Trait.STACK, Trait.POPF));
        return f;
    }
}
