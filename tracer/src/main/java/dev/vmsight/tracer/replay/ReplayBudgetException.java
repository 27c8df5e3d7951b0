package dev.vmsight.tracer.replay;

/** The replay ran out of instructions or time before END: where it was. */
public final class ReplayBudgetException extends RuntimeException {
    private final long steps;
    private final long rip;
    private final double seconds;

    ReplayBudgetException(String what, long steps, long rip, double seconds) {
        super(String.format("replay %s before END: %d instructions done, rip 0x%x, %.1f s", what, steps, rip, seconds));
        this.steps = steps;
        this.rip = rip;
        this.seconds = seconds;
    }

    public long steps() { return steps; }

    public long rip() { return rip; }

    public double seconds() { return seconds; }
}
