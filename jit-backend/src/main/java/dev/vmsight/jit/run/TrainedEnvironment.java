package dev.vmsight.jit.run;

import dev.vmsight.ir.interp.Environment;
import dev.vmsight.ir.sys.SystemMachine;
import dev.vmsight.ir.uop.UopKind;
import dev.vmsight.jit.SiteEnvironment;
import dev.vmsight.merger.MergedProgram;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Map;

/**
 * Environment values for the JIT: the values training recorded for the program's environment
 * µops (a monitor has no guest TSC or devices), replayed per instruction site exactly as the
 * reference executor does ({@link #at}: the compiled monitor names the site). Asked without a
 * site, a kind (rdtsc, cpuid...) is answered only when all its recorded sites agree on one value;
 * otherwise the query is refused with the sites named — never a value of another site.
 */
public final class TrainedEnvironment implements SiteEnvironment {

    private final Map<Long, long[]> bySite = new HashMap<>();
    private final Map<UopKind, long[]> values = new EnumMap<>(UopKind.class);
    private final Map<UopKind, String> conflicts = new EnumMap<>(UopKind.class);

    public TrainedEnvironment(MergedProgram program) {
        var instructions = program.instructionMap();
        for (MergedProgram.EnvValue e : program.environment()) {
            bySite.put(e.address(), e.values());
            var pi = instructions.get(e.address());
            if (pi == null) continue;
            UopKind kind = SystemMachine.lift(pi.bytes(), pi.address(), program.features()).uops().get(e.uop()).kind();
            if (kind == UopKind.LOAD) {
                continue;   // a replayed load (allocation metadata): a constant of the program, no environment value
            }
            long[] old = values.putIfAbsent(kind, e.values());
            if (old != null && !Arrays.equals(old, e.values())) {
                conflicts.merge(kind, "0x" + Long.toHexString(e.address()), (a, b) -> a + ", " + b);
            }
        }
    }

    @Override
    public Environment at(long site) {
        return new AtSite(site, bySite.get(site));
    }

    /** The values recorded at one instruction; a site training saw no value at is refused with its address. */
    private record AtSite(long site, long[] recorded) implements Environment {
        private long[] values(String what) {
            if (recorded == null) {
                throw new IllegalStateException(what + " at 0x" + Long.toHexString(site) + " has no value recorded in training");
            }
            return recorded;
        }

        @Override public long rdtsc() { return values("rdtsc")[0]; }

        @Override public long[] cpuid(long leaf, long subleaf) { return values("cpuid").clone(); }

        @Override public long rdmsr(long msr) { return values("rdmsr 0x" + Long.toHexString(msr))[0]; }

        @Override public long portIn(long port, int size) { return values("in from port 0x" + Long.toHexString(port))[0]; }

        @Override public long rdrand(int size) { return values("rdrand")[0]; }

        @Override public long rdpkru() { return values("rdpkru")[0]; }
    }

    private long[] get(UopKind kind) {
        String conflict = conflicts.get(kind);
        if (conflict != null) {
            throw new IllegalStateException(kind + " values recorded in training differ between sites (" + conflict
                    + "); ask the environment at a site");
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

    @Override public long rdpkru() { return get(UopKind.RDPKRU)[0]; }
}
