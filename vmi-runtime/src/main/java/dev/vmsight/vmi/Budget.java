package dev.vmsight.vmi;

import java.time.Duration;

/**
 * Step and wall-time limits of one monitor run. Compiled code calls {@link #step()} on every back
 * edge and call, so it must be cheap: it decrements a counter and reads {@link System#nanoTime()}
 * only once every {@link #CLOCK_INTERVAL} steps. Time is therefore checked with a granularity of
 * about a thousand steps (microseconds of compiled code), which is what "no hang" needs.
 *
 * <p>Not thread-safe: one run owns one budget. {@link #start()} resets it for the next run.
 */
public final class Budget {
    /** Steps between two clock reads. */
    public static final int CLOCK_INTERVAL = 1024;

    private final long maxSteps;
    private final long maxNanos;
    private final Duration maxTime;
    private long steps;
    private int untilClock;
    private long startNanos;

    private Budget(long maxSteps, Duration maxTime) {
        if (maxSteps <= 0) throw new IllegalArgumentException("a step budget must be positive, not " + maxSteps);
        if (maxTime.isNegative() || maxTime.isZero()) throw new IllegalArgumentException("a time budget must be positive, not " + maxTime);
        this.maxSteps = maxSteps;
        this.maxTime = maxTime;
        this.maxNanos = maxTime.toNanos();
        start();
    }

    /** A budget of at most {@code maxSteps} steps and {@code maxTime}, started now. */
    public static Budget of(long maxSteps, Duration maxTime) {
        return new Budget(maxSteps, maxTime);
    }

    /** Restarts the count and the clock (before each run). */
    public Budget start() {
        steps = 0;
        untilClock = CLOCK_INTERVAL;
        startNanos = System.nanoTime();
        return this;
    }

    /** Counts one step; throws {@link BudgetExceededException} past either limit. */
    public void step() {
        if (++steps > maxSteps) {
            throw exceeded(BudgetExceededException.Limit.STEPS);
        }
        if (--untilClock == 0) {
            untilClock = CLOCK_INTERVAL;
            checkTime();
        }
    }

    /** Checks the clock now (e.g. before a slow memory source is asked for more). */
    public void checkTime() {
        if (System.nanoTime() - startNanos > maxNanos) {
            throw exceeded(BudgetExceededException.Limit.TIME);
        }
    }

    /** Steps counted since {@link #start()}. */
    public long steps() { return steps; }

    public long maxSteps() { return maxSteps; }

    public Duration maxTime() { return maxTime; }

    /** Time since {@link #start()}. */
    public Duration elapsed() { return Duration.ofNanos(System.nanoTime() - startNanos); }

    private BudgetExceededException exceeded(BudgetExceededException.Limit limit) {
        return new BudgetExceededException(limit, steps, elapsed(), maxSteps, maxTime);
    }
}
