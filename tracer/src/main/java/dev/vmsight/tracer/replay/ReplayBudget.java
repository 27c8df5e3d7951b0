package dev.vmsight.tracer.replay;

/** How far a replay may go before it gives up: instructions and wall-clock seconds. */
public record ReplayBudget(long maxInstructions, double maxSeconds) {
    public ReplayBudget {
        if (maxInstructions <= 0 || !(maxSeconds > 0)) {
            throw new IllegalArgumentException("replay budget must be positive: " + maxInstructions
                    + " instructions, " + maxSeconds + " s");
        }
    }
}
