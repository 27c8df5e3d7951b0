package dev.vmsight.jit;

import java.time.Duration;

/**
 * How long one monitor run may take: back edges taken (every loop iteration and every transfer
 * between generated methods counts one) and wall time. Checked cheaply: the generated code
 * decrements a counter and the clock is read once per {@link #CHECK_EVERY} steps.
 */
public record RunLimits(long maxSteps, Duration maxTime) {
    /** Steps between two clock reads. */
    public static final int CHECK_EVERY = 1024;

    public static final RunLimits DEFAULT = new RunLimits(10_000_000, Duration.ofSeconds(5));

    public RunLimits {
        if (maxSteps <= 0 || maxTime.isNegative() || maxTime.isZero()) {
            throw new IllegalArgumentException("run limits must be positive: " + maxSteps + " steps, " + maxTime);
        }
    }

    /** The limit was reached: a hostile or unexpected guest state (a cyclic list), never a hang. */
    public static final class Exceeded extends RuntimeException {
        private final long steps;
        private final long elapsedNanos;

        Exceeded(long steps, long elapsedNanos, RunLimits limits) {
            super("budget exceeded after " + steps + " steps and " + elapsedNanos / 1000 + " µs (limits: "
                    + limits.maxSteps() + " steps, " + limits.maxTime().toMillis() + " ms)", null, false, false);
            this.steps = steps;
            this.elapsedNanos = elapsedNanos;
        }

        public long steps() { return steps; }

        public long elapsedNanos() { return elapsedNanos; }
    }
}
