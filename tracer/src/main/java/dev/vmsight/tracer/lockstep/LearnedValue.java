package dev.vmsight.tracer.lockstep;

/**
 * A value the interpreter could not know, learned from QEMU during lockstep: at step
 * {@code step} (numbered from 1 after START) the instruction at {@code rip} ran an environment µop
 * of {@code kind} (RDTSC, CPUID, RDMSR, PORT_IN: the µop kind's name) with {@code args} (cpuid
 * leaf and subleaf, MSR number, port and size; empty for rdtsc) and QEMU's registers after the
 * step gave {@code values} (one value; four for cpuid: eax, ebx, ecx, edx).
 */
public record LearnedValue(long step, long rip, String kind, long[] args, long[] values) {
    public LearnedValue {
        args = args.clone();
        values = values.clone();
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder(String.format("step %d at 0x%x: %s(", step, rip, kind.toLowerCase(java.util.Locale.ROOT)));
        for (int i = 0; i < args.length; i++) {
            b.append(i == 0 ? "" : ", ").append("0x").append(Long.toHexString(args[i]));
        }
        b.append(") =");
        for (long v : values) {
            b.append(" 0x").append(Long.toHexString(v));
        }
        return b.toString();
    }
}
