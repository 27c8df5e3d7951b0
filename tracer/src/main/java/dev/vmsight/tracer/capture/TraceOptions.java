package dev.vmsight.tracer.capture;

/**
 * Budgets and choices of a traced run.
 *
 * @param maxInstructions  the replay's instruction budget (also bounds the lockstep prefix)
 * @param maxSeconds       seconds QEMU may take from START to END, and the replay's time budget
 * @param minPrefixSteps   lockstep steps from START (QEMU and the interpreter compared at each); values
 *                         needed after the prefix are learned at synchronisation points ({@code SyncedLearner})
 * @param maxRetries       re-runs with a longer prefix when the replay needs a value the prefix did not learn
 * @param saveSnapshot     write the START snapshot next to the trace ({@code .snapshot})
 * @param lockstepOnReject on a fidelity failure, find the first divergence by a full lockstep run
 */
public record TraceOptions(long maxInstructions, double maxSeconds, long minPrefixSteps, int maxRetries,
                           boolean saveSnapshot, boolean lockstepOnReject) {
    /** 10 M instructions (run 1's cold listing of 800 sleepers is about 4.2 M), 120 s, a 300-step prefix, 3 retries, no snapshot, lockstep on rejection. */
    public static final TraceOptions DEFAULTS = new TraceOptions(10_000_000, 120, 300, 3, false, true);

    public TraceOptions {
        if (maxInstructions <= 0) {
            throw new IllegalArgumentException("--max-instructions must be positive, not " + maxInstructions);
        }
        if (!(maxSeconds > 0)) {
            throw new IllegalArgumentException("--max-seconds must be positive, not " + maxSeconds);
        }
        if (minPrefixSteps < 0 || maxRetries < 0) {
            throw new IllegalArgumentException("prefix steps and retries must be >= 0 (" + minPrefixSteps + ", " + maxRetries + ")");
        }
    }

    public TraceOptions withMaxInstructions(long n) {
        return new TraceOptions(n, maxSeconds, minPrefixSteps, maxRetries, saveSnapshot, lockstepOnReject);
    }

    public TraceOptions withMaxSeconds(double s) {
        return new TraceOptions(maxInstructions, s, minPrefixSteps, maxRetries, saveSnapshot, lockstepOnReject);
    }

    public TraceOptions withMinPrefixSteps(long steps) {
        return new TraceOptions(maxInstructions, maxSeconds, steps, maxRetries, saveSnapshot, lockstepOnReject);
    }

    public TraceOptions withSaveSnapshot(boolean save) {
        return new TraceOptions(maxInstructions, maxSeconds, minPrefixSteps, maxRetries, save, lockstepOnReject);
    }

    public TraceOptions withLockstepOnReject(boolean lockstep) {
        return new TraceOptions(maxInstructions, maxSeconds, minPrefixSteps, maxRetries, saveSnapshot, lockstep);
    }
}
