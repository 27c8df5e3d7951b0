package dev.vmsight.tracer.capture;

import dev.vmsight.ir.sys.PhysMem;
import dev.vmsight.tracer.replay.RecordedCounts;
import dev.vmsight.tracer.replay.RecordedEnvironment;
import dev.vmsight.tracer.replay.Replay;
import dev.vmsight.tracer.replay.ReplayBudget;
import dev.vmsight.tracer.replay.ReplayBudgetException;
import dev.vmsight.tracer.replay.ReplayInput;
import dev.vmsight.tracer.replay.ReplayResult;
import dev.vmsight.tracer.replay.UnknownEnvironmentValueException;
import dev.vmsight.tracer.trace.TraceFiles;
import dev.vmsight.tracer.trace.TraceHeader;
import dev.vmsight.tracer.trace.TraceSink;
import java.nio.file.Path;

/** The replay stage and trace sink the tracer uses: the recording replay into a trace file. */
final class ReplayStages {
    private ReplayStages() { }

    static ReplayStage standard() {
        return ReplayStages::recorded;
    }

    static TraceSink traceFile(Path file, TraceHeader header) {
        return TraceFiles.create(file, header);
    }

    /** {@link Replay#run} on a copy-on-write of the START RAM with every value learned, translated to the stage's terms. */
    static ReplayStage.Outcome recorded(ReplayStage.Request r, TraceSink sink, ReplayStage.Progress progress) {
        ReplayInput input = new ReplayInput(r.start(), PhysMem.copyOnWrite(r.ram()), r.features(),
                new RecordedEnvironment(r.learned()), r.markOut(), r.cr3());
        ReplayResult result;
        try {
            result = Replay.run(input, sink, new ReplayBudget(r.maxInstructions(), r.maxSeconds()), progress::replayed);
        } catch (UnknownEnvironmentValueException e) {
            throw new ReplayStage.NeedsLongerPrefix(e.step(), e.getMessage(), e);
        } catch (ReplayBudgetException e) {
            throw new TraceBudgetException("did not reach END in the replay: " + e.getMessage(), e);
        }
        RecordedCounts c = result.counts();
        return new ReplayStage.Outcome(c.instructions(), c.uops(), c.kernelInstructions(), c.userInstructions(), c.distinctSites(),
                c.deliveries(), c.translations(), c.envInputs(), result.reachedEnd(), result.outputBytes(), result.seconds());
    }
}
