package dev.vmsight.tracer.replay;

import dev.vmsight.tracer.trace.TraceSummary;

/**
 * The counts a {@link TraceRecorder} kept of the events it wrote, as {@link TraceSummary} has
 * them: a distinct site is a distinct (rip, instruction bytes, µop index) of an executed µop.
 */
public record RecordedCounts(long instructions, long uops, long kernelInstructions, long userInstructions,
                             long distinctSites, long deliveries, long translations, long envInputs) {

    /** The summary of a trace with these counts. */
    public TraceSummary summary(boolean reachedEnd, byte[] replayedOutput, boolean fidelity, double replaySeconds) {
        return new TraceSummary(instructions, uops, kernelInstructions, userInstructions, distinctSites, deliveries,
                translations, envInputs, reachedEnd, replayedOutput, fidelity, replaySeconds);
    }
}
