package dev.vmsight.merger;

import dev.vmsight.ir.uop.Loc;

/** Location ↔ VcpuState register names (dev.vmsight.vmi.vcpu.VcpuState.NAMES). */
final class Registers {
    private static final String[] GPRS = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
            "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"};
    private static final String[] SELECTORS = {"es", "cs", "ss", "ds", "fs", "gs"};

    private Registers() { }

    /**
     * The VcpuState register a location's value comes from: GPRs, rip, selectors, bases, CRs and
     * EFER by name; flags from "rflags" (the executor takes the flag's bit); others by their Loc
     * name (a provider may or may not have them: the executor says which is missing).
     */
    static String vcpuName(int loc) {
        if (loc >= Loc.GPR0 && loc < Loc.GPR0 + 16) {
            return GPRS[loc - Loc.GPR0];
        }
        if (Loc.isFlag(loc) || loc == Loc.IOPL) {
            return "rflags";
        }
        if (loc >= Loc.SEL0 && loc < Loc.SEL0 + 6) {
            return SELECTORS[loc - Loc.SEL0];
        }
        return switch (loc) {
            case Loc.RIP -> "rip";
            case Loc.FS_BASE -> "fs_base";
            case Loc.GS_BASE -> "gs_base";
            case Loc.KERNEL_GS_BASE -> "kernel_gs_base";
            case Loc.CR0 -> "cr0";
            case Loc.CR2 -> "cr2";
            case Loc.CR3 -> "cr3";
            case Loc.CR4 -> "cr4";
            case Loc.EFER -> "efer";
            default -> Loc.name(loc).toLowerCase(java.util.Locale.ROOT);
        };
    }

    /** The value of {@code loc} given the register's value (flags: their bit of rflags). */
    static long fromRegister(int loc, long value) {
        for (int i = 0; i < Loc.FLAG_LOCS.length; i++) {
            if (Loc.FLAG_LOCS[i] == loc) {
                return (value >>> Loc.FLAG_BITS[i]) & 1;
            }
        }
        if (loc == Loc.IOPL) {
            return (value >>> 12) & 3;
        }
        return value;
    }
}
