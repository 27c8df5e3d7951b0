package dev.vmsight.tracer.capture;

import dev.vmsight.ir.sys.CpuFeatures;
import dev.vmsight.tracer.lockstep.LearnedValue;
import dev.vmsight.tracer.trace.TraceHeader;
import dev.vmsight.tracer.trace.TraceSink;
import java.util.List;

/** Step (e) of a traced run: replay START..END from the START copy into a trace sink. */
interface ReplayStage {

    /** What the replay starts from and where it must stop. */
    record Request(TraceHeader.StartState start, CopiedRam ram, CpuFeatures features, List<LearnedValue> learned,
                   long markOut, long cr3, long maxInstructions, double maxSeconds) { }

    /** Counts for the summary and the replayed output buffer (null when END was not reached). */
    record Outcome(long instructions, long uops, long kernelInstructions, long userInstructions, long distinctSites,
                   long deliveries, long translations, long envInputs, boolean reachedEnd, byte[] output, double seconds) { }

    /** Progress of a long replay: instructions done of the budget. */
    interface Progress {
        void replayed(long steps, long rip);
    }

    /**
     * Replays into {@code sink} (events only: the caller writes the summary).
     *
     * @throws NeedsLongerPrefix when the replay needs an environment value the prefix did not learn
     * @throws TraceBudgetException when the budget runs out before END
     */
    Outcome replay(Request request, TraceSink sink, Progress progress);

    /** The replay asked for a value from outside the machine at {@code step} that the prefix had not learned. */
    final class NeedsLongerPrefix extends RuntimeException {
        private final long step;

        NeedsLongerPrefix(long step, String what, Throwable cause) {
            super(what, cause);
            this.step = step;
        }

        long step() { return step; }
    }
}
