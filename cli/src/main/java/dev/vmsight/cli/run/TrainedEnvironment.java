package dev.vmsight.cli.run;

import dev.vmsight.ir.interp.Environment;
import dev.vmsight.ir.sys.SystemMachine;
import dev.vmsight.ir.uop.UopKind;
import dev.vmsight.merger.MergedProgram;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.Map;

/**
 * Environment values for the JIT: the values training recorded for the program's environment
 * µops (a monitor has no guest TSC or devices), like the reference executor's replay. The JIT's
 * {@link Environment} is asked without the instruction's address, so a kind (rdtsc, cpuid...) is
 * answered only when all its recorded sites agree on one value; otherwise the query is refused
 * with the sites named — never a value of another site.
 */
final class TrainedEnvironment implements Environment {

    private final Map<UopKind, long[]> values = new EnumMap<>(UopKind.class);
    private final Map<UopKind, String> conflicts = new EnumMap<>(UopKind.class);

    TrainedEnvironment(MergedProgram program) {
        var instructions = program.instructionMap();
        for (MergedProgram.EnvValue e : program.environment()) {
            var pi = instructions.get(e.address());
            if (pi == null) continue;
            UopKind kind = SystemMachine.lift(pi.bytes(), pi.address(), program.features()).uops().get(e.uop()).kind();
            long[] old = values.putIfAbsent(kind, e.values());
            if (old != null && !Arrays.equals(old, e.values())) {
                conflicts.merge(kind, "0x" + Long.toHexString(e.address()), (a, b) -> a + ", " + b);
            }
        }
    }

    private long[] get(UopKind kind) {
        String conflict = conflicts.get(kind);
        if (conflict != null) {
            throw new IllegalStateException(kind + " values recorded in training differ between sites (" + conflict
                    + "); the compiled monitor cannot tell its sites apart");
        }
        long[] v = values.get(kind);
        if (v == null) throw new IllegalStateException(kind + " has no value recorded in training");
        return v;
    }

    @Override public long rdtsc() { return get(UopKind.RDTSC)[0]; }

    @Override public long[] cpuid(long leaf, long subleaf) { return get(UopKind.CPUID).clone(); }

    @Override public long rdmsr(long msr) { return get(UopKind.RDMSR)[0]; }

    @Override public long portIn(long port, int size) { return get(UopKind.PORT_IN)[0]; }

    @Override public long rdrand(int size) { return get(UopKind.RDRAND)[0]; }
}
