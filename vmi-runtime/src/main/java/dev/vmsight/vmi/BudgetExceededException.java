package dev.vmsight.vmi;

import java.time.Duration;

/**
 * A monitor run went past its {@link Budget}: {@code steps} counted so far, {@code elapsed} time,
 * and which limit it crossed. A cyclic list or a wild pointer in a hostile guest ends here, not in a hang.
 */
public final class BudgetExceededException extends VmiException {

    /** Which limit was crossed. */
    public enum Limit { STEPS, TIME }

    private final Limit limit;
    private final long steps;
    private final Duration elapsed;
    private final long maxSteps;
    private final Duration maxTime;

    BudgetExceededException(Limit limit, long steps, Duration elapsed, long maxSteps, Duration maxTime) {
        super("budget exceeded: " + (limit == Limit.STEPS
                ? steps + " steps > limit " + maxSteps
                : "ran " + elapsed.toMillis() + " ms > limit " + maxTime.toMillis() + " ms")
                + " (" + steps + " steps in " + elapsed.toMillis() + " ms)", null);
        this.limit = limit;
        this.steps = steps;
        this.elapsed = elapsed;
        this.maxSteps = maxSteps;
        this.maxTime = maxTime;
    }

    public Limit limit() { return limit; }

    /** Steps counted when the run was stopped. */
    public long steps() { return steps; }

    /** Time since the budget was started when the run was stopped. */
    public Duration elapsed() { return elapsed; }

    public long maxSteps() { return maxSteps; }

    public Duration maxTime() { return maxTime; }
}
