package dev.vmsight.tracer.replay;

import dev.vmsight.tracer.trace.TraceSummary;

import java.util.Arrays;

/**
 * How a replay ended: instructions executed, whether it reached END (always true when
 * {@link Replay#run} returns: running out of budget throws), the output buffer
 * vmsight_mark_out(buf, len) named at END (its linear address, its bytes read through the
 * machine's own paging, the physical address of each page it spans), wall time and the counts of
 * what was recorded. The caller decides fidelity (compare {@link #outputBytes} with the real
 * guest's) and finishes the sink with {@link #summary(boolean)}.
 */
public record ReplayResult(long steps, boolean reachedEnd, long outputVa, byte[] outputBytes, long[] outputPagePas,
                           double seconds, RecordedCounts counts) {

    /** The trace summary: these counts, the replayed output, and the caller's fidelity verdict. */
    public TraceSummary summary(boolean fidelity) {
        return counts.summary(reachedEnd, outputBytes, fidelity, seconds);
    }

    /** Fidelity as the tracer defines it: END reached and the output equal to the guest's bytes. */
    public boolean matches(byte[] expectedOutput) {
        return reachedEnd && Arrays.equals(outputBytes, expectedOutput);
    }
}
