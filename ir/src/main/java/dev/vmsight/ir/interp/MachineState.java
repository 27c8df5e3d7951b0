package dev.vmsight.ir.interp;

import dev.vmsight.ir.uop.Loc;

import java.util.Arrays;

/**
 * The CPU state the interpreter runs on: one 64-bit slot per {@link Loc} (GPRs, RIP, every
 * flag bit, FS/GS bases, selectors, control registers, known MSRs, XMM halves) plus the
 * temporaries of the instruction being executed. The system registers are plain values here;
 * the system layer gives them meaning.
 */
public final class MachineState {
    final long[] v = new long[Loc.COUNT];

    public long get(int loc) { return v[loc]; }

    public MachineState set(int loc, long value) {
        v[loc] = Loc.isFlag(loc) ? value & 1 : value;
        return this;
    }

    public long gpr(int n) { return v[Loc.GPR0 + n]; }

    public MachineState setGpr(int n, long value) {
        v[Loc.GPR0 + n] = value;
        return this;
    }

    public long rip() { return v[Loc.RIP]; }

    public MachineState setRip(long rip) {
        v[Loc.RIP] = rip;
        return this;
    }

    /** RFLAGS assembled from the flag locations (bit 1 is always set). */
    public long rflags() {
        long f = 2 | (v[Loc.IOPL] & 3) << 12;
        for (int i = 0; i < Loc.FLAG_LOCS.length; i++) {
            f |= (v[Loc.FLAG_LOCS[i]] & 1) << Loc.FLAG_BITS[i];
        }
        return f;
    }

    public MachineState setRflags(long f) {
        for (int i = 0; i < Loc.FLAG_LOCS.length; i++) {
            v[Loc.FLAG_LOCS[i]] = (f >>> Loc.FLAG_BITS[i]) & 1;
        }
        v[Loc.IOPL] = (f >>> 12) & 3;
        return this;
    }

    /** Current privilege level, from CS. */
    public int cpl() { return (int) (v[Loc.SEL0 + 1] & 3); }

    public MachineState copy() {
        MachineState c = new MachineState();
        System.arraycopy(v, 0, c.v, 0, Loc.ARCH_COUNT);
        return c;
    }

    /** Architectural state only (temporaries excluded). */
    public long[] architectural() { return Arrays.copyOf(v, Loc.ARCH_COUNT); }
}
