package dev.vmsight.tracer.lockstep;

import dev.vmsight.guests.gdb.X86Registers;
import dev.vmsight.ir.interp.Environment;
import java.util.ArrayList;
import java.util.List;

/**
 * The interpreter's environment in lockstep: each value it cannot know (rdtsc, cpuid, an MSR the
 * state does not hold, a port read) is taken from QEMU's registers after QEMU steps the same
 * instruction, and recorded twice: as a line for people ({@link #learned()}) and as a
 * {@link LearnedValue} a replay can be given ({@link #values()}).
 */
final class LockstepEnvironment implements Environment {
    private final QemuStepper qemu;
    private final List<String> learned = new ArrayList<>();
    private final List<LearnedValue> values = new ArrayList<>();
    private long step;

    LockstepEnvironment(QemuStepper qemu) { this.qemu = qemu; }

    void atStep(long step) { this.step = step; }

    /** Every value learned, one line each ("step N at 0xRIP: what = value"). */
    List<String> learned() { return List.copyOf(learned); }

    int learnedCount() { return learned.size(); }

    String learned(int i) { return learned.get(i); }

    /** The environment values learned, in order (MSRs learned from syscall/sysretq are not among them). */
    List<LearnedValue> values() { return List.copyOf(values); }

    void record(String what, long value) {
        learned.add(String.format("step %d at 0x%x: %s = 0x%x", step, qemu.before().rip(), what, value));
    }

    private void value(String kind, long[] args, long[] result) {
        values.add(new LearnedValue(step, qemu.before().rip(), kind, args, result));
    }

    @Override
    public long rdtsc() {
        X86Registers r = qemu.after();
        long tsc = r.rdx() << 32 | r.rax() & 0xFFFF_FFFFL;
        record("rdtsc", tsc);
        value("RDTSC", new long[0], new long[]{tsc});
        return tsc;
    }

    @Override
    public long[] cpuid(long leaf, long subleaf) {
        X86Registers r = qemu.after();
        long[] v = {r.rax() & 0xFFFF_FFFFL, r.rbx() & 0xFFFF_FFFFL, r.rcx() & 0xFFFF_FFFFL, r.rdx() & 0xFFFF_FFFFL};
        record(String.format("cpuid(0x%x, 0x%x) eax", leaf, subleaf), v[0]);
        value("CPUID", new long[]{leaf, subleaf}, v);
        return v;
    }

    @Override
    public long rdmsr(long msr) {
        X86Registers r = qemu.after();
        long v = r.rdx() << 32 | r.rax() & 0xFFFF_FFFFL;
        record(String.format("rdmsr(0x%x)", msr), v);
        value("RDMSR", new long[]{msr}, new long[]{v});
        return v;
    }

    @Override
    public long portIn(long port, int size) {
        X86Registers r = qemu.after();
        long v = size == 8 ? r.rax() : r.rax() & ((1L << (8 * size)) - 1);
        record(String.format("in(port 0x%x, %d bytes)", port, size), v);
        value("PORT_IN", new long[]{port, size}, new long[]{v});
        return v;
    }

    @Override
    public long rdpkru() {
        long v = qemu.after().rax() & 0xFFFF_FFFFL;
        record("rdpkru", v);
        value("RDPKRU", new long[0], new long[]{v});
        return v;
    }

    @Override
    public long rdrand(int size) {
        throw new IllegalStateException("rdrand at rip 0x" + Long.toHexString(qemu.before().rip())
                + ": its destination register is not known to the lockstep environment");
    }
}
