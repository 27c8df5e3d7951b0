package dev.vmsight.tracer.replay;

import java.util.Arrays;

/**
 * The replay needed a value from outside the machine (rdtsc, cpuid, an MSR the state does not
 * hold, a port read, rdrand) that the lockstep prefix had not learned: the caller runs the program
 * again with a prefix reaching at least {@link #step()}.
 */
public final class UnknownEnvironmentValueException extends RuntimeException {
    private final long step;
    private final String kind;
    private final long rip;
    private final long[] args;

    public UnknownEnvironmentValueException(long step, String kind, long rip, long[] args) {
        super("replay step " + step + " at rip 0x" + Long.toHexString(rip) + " needs " + kind + describe(args)
                + ", which the lockstep prefix did not learn");
        this.step = step;
        this.kind = kind;
        this.rip = rip;
        this.args = args.clone();
    }

    private static String describe(long[] args) {
        return Arrays.stream(args).mapToObj(a -> "0x" + Long.toHexString(a))
                .reduce((a, b) -> a + ", " + b).map(s -> "(" + s + ")").orElse("");
    }

    /** The step (numbered from 1 after START) that asked. */
    public long step() { return step; }

    /** The µop kind's name: RDTSC, CPUID, RDMSR, PORT_IN, RDRAND. */
    public String kind() { return kind; }

    public long rip() { return rip; }

    public long[] args() { return args.clone(); }
}
