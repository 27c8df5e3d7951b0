package dev.vmsight.tracer.replay;

import dev.vmsight.ir.interp.Environment;
import dev.vmsight.tracer.lockstep.LearnedValue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.LongStream;

/**
 * The environment of a replay: the values learned beforehand (by the lockstep prefix), keyed by
 * (step, kind, args) with the args as {@link LearnedValue} has them (cpuid: leaf, subleaf; rdmsr:
 * MSR; in: port, size; rdrand: size; rdtsc: none). The replay tells it the current step with
 * {@link #atStep} before each instruction; a query it has no value for throws
 * {@link UnknownEnvironmentValueException}. Asking twice gives the same answer (it is a table,
 * not a queue).
 */
public final class RecordedEnvironment implements Environment {
    private record Key(long step, String kind, List<Long> args) {
        static Key of(long step, String kind, long[] args) {
            return new Key(step, kind, LongStream.of(args).boxed().toList());
        }
    }

    private final Map<Key, long[]> values = new HashMap<>();
    private long step;
    private long rip;
    private String lastSource = "";

    public RecordedEnvironment(List<LearnedValue> learned) {
        for (LearnedValue v : learned) {
            long[] old = values.putIfAbsent(Key.of(v.step(), v.kind(), v.args()), v.values());
            if (old != null && !java.util.Arrays.equals(old, v.values())) {
                throw new IllegalArgumentException("two different values learned for " + v + " and "
                        + java.util.Arrays.toString(old));
            }
        }
    }

    /** No learned values: any query fails (for code that must not read the environment). */
    public static RecordedEnvironment empty() { return new RecordedEnvironment(List.of()); }

    /** The instruction about to run: step number (from 1 after START) and its address. */
    public void atStep(long step, long rip) {
        this.step = step;
        this.rip = rip;
    }

    /** How many values it holds. */
    public int size() { return values.size(); }

    /** Where the last answer came from, for {@code EnvInputEvent.source}. */
    public String lastSource() { return lastSource; }

    private long[] lookUp(String kind, long... args) {
        long[] v = values.get(Key.of(step, kind, args));
        if (v == null) {
            throw new UnknownEnvironmentValueException(step, kind, rip, args);
        }
        lastSource = "lockstep step " + step;
        return v;
    }

    @Override public long rdtsc() { return lookUp("RDTSC")[0]; }

    @Override public long[] cpuid(long leaf, long subleaf) { return lookUp("CPUID", leaf, subleaf).clone(); }

    @Override public long rdmsr(long msr) { return lookUp("RDMSR", msr)[0]; }

    @Override public long portIn(long port, int size) { return lookUp("PORT_IN", port, size)[0]; }

    @Override public long rdrand(int size) { return lookUp("RDRAND", size)[0]; }

    @Override public long rdpkru() { return lookUp("RDPKRU")[0]; }
}
