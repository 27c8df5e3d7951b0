package dev.vmsight.tracer.trace;

/**
 * Written after the last event: counts (instructions, µops executed, kernel and user
 * instructions, distinct sites i.e. (rip, bytes, µop index) triples, deliveries, translations,
 * environment inputs), whether the replay reached END, the output buffer the replay produced and
 * whether it equals the guest's ({@code fidelity}), and the replay's wall time.
 */
public record TraceSummary(long instructions, long uops, long kernelInstructions, long userInstructions,
                           long distinctSites, long deliveries, long translations, long envInputs,
                           boolean reachedEnd, byte[] replayedOutput, boolean fidelity, double replaySeconds) { }
