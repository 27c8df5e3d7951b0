package dev.vmsight.tracer.lockstep;

import dev.vmsight.guests.gdb.X86Registers;
import dev.vmsight.ir.interp.MachineState;
import dev.vmsight.ir.uop.Loc;
import java.util.ArrayList;
import java.util.List;

/** gdbstub registers to the interpreter's machine state, and the comparison of the two after a step. */
final class RegisterMapping {
    private RegisterMapping() { }

    /** The registers compared after every step, with how each is read from both sides. */
    private static final String[] NAMES = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
            "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rip", "rflags",
            "es", "cs", "ss", "ds", "fs", "gs", "fs_base", "gs_base", "k_gs_base",
            "cr0", "cr2", "cr3", "cr4", "cr8", "efer", "mxcsr"};

    /** Loads everything the gdbstub shows into {@code s} (the syscall MSRs are left as they are). */
    static MachineState load(X86Registers r, MachineState s) {
        long[] q = qemuValues(r);
        for (int i = 0; i < 16; i++) {
            s.setGpr(i, q[i]);
        }
        s.setRip(r.rip());
        s.setRflags(r.eflags() & 0xFFFF_FFFFL);
        for (int i = 0; i < 6; i++) {
            s.set(Loc.SEL0 + i, q[18 + i]);
        }
        s.set(Loc.FS_BASE, r.fsBase()).set(Loc.GS_BASE, r.gsBase()).set(Loc.KERNEL_GS_BASE, r.kernelGsBase());
        s.set(Loc.CR0, r.cr0()).set(Loc.CR2, r.cr2()).set(Loc.CR3, r.cr3()).set(Loc.CR4, r.cr4()).set(Loc.CR8, r.cr8());
        s.set(Loc.EFER, r.efer()).set(Loc.MXCSR, r.mxcsr() & 0xFFFF_FFFFL);
        return s;
    }

    /** One differing register: its name and both values. */
    record Difference(String register, long interpreter, long qemu) {
        @Override
        public String toString() {
            return String.format("%-9s interpreter 0x%016x  QEMU 0x%016x", register, interpreter, qemu);
        }
    }

    static List<Difference> compare(MachineState s, X86Registers r) {
        long[] mine = stateValues(s);
        long[] q = qemuValues(r);
        List<Difference> out = new ArrayList<>();
        for (int i = 0; i < NAMES.length; i++) {
            if (mine[i] != q[i]) {
                out.add(new Difference(NAMES[i], mine[i], q[i]));
            }
        }
        return out;
    }

    /** Both states side by side, every compared register (for divergence reports). */
    static String sideBySide(MachineState s, X86Registers r) {
        long[] mine = stateValues(s);
        long[] q = qemuValues(r);
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < NAMES.length; i++) {
            b.append(String.format("  %-9s interpreter 0x%016x  QEMU 0x%016x%s%n", NAMES[i], mine[i], q[i],
                    mine[i] != q[i] ? "   <-- differs" : ""));
        }
        return b.toString();
    }

    /** The 16 GPRs in x86 register-number order (rax rcx rdx rbx rsp rbp rsi rdi r8..r15). */
    static long[] gprs(X86Registers r) {
        return java.util.Arrays.copyOf(qemuValues(r), 16);
    }

    private static long[] stateValues(MachineState s) {
        long[] v = new long[NAMES.length];
        for (int i = 0; i < 16; i++) {
            v[i] = s.gpr(i);
        }
        v[16] = s.rip();
        v[17] = s.rflags();
        for (int i = 0; i < 6; i++) {
            v[18 + i] = s.get(Loc.SEL0 + i);
        }
        v[24] = s.get(Loc.FS_BASE);
        v[25] = s.get(Loc.GS_BASE);
        v[26] = s.get(Loc.KERNEL_GS_BASE);
        v[27] = s.get(Loc.CR0);
        v[28] = s.get(Loc.CR2);
        v[29] = s.get(Loc.CR3);
        v[30] = s.get(Loc.CR4);
        v[31] = s.get(Loc.CR8);
        v[32] = s.get(Loc.EFER);
        v[33] = s.get(Loc.MXCSR);
        return v;
    }

    private static long[] qemuValues(X86Registers r) {
        // gdb's order is rax rbx rcx rdx rsi rdi rbp rsp; the interpreter's is the x86 register number
        return new long[]{r.rax(), r.rcx(), r.rdx(), r.rbx(), r.rsp(), r.rbp(), r.rsi(), r.rdi(),
                r.r8(), r.r9(), r.r10(), r.r11(), r.r12(), r.r13(), r.r14(), r.r15(), r.rip(), r.eflags() & 0xFFFF_FFFFL,
                r.es() & 0xFFFF, r.cs() & 0xFFFF, r.ss() & 0xFFFF, r.ds() & 0xFFFF, r.fs() & 0xFFFF, r.gs() & 0xFFFF,
                r.fsBase(), r.gsBase(), r.kernelGsBase(), r.cr0(), r.cr2(), r.cr3(), r.cr4(), r.cr8(), r.efer(),
                r.mxcsr() & 0xFFFF_FFFFL};
    }
}
