package dev.vmsight.jit.train;

import dev.vmsight.guests.LabLayout;
import dev.vmsight.guests.TrainingProgram;
import dev.vmsight.merger.MergedProgram;
import dev.vmsight.merger.Merger;
import dev.vmsight.merger.ProgramFiles;
import dev.vmsight.merger.SliceInput;
import dev.vmsight.slicer.GuardPolicy;
import dev.vmsight.slicer.SliceResult;
import dev.vmsight.slicer.Slicer;
import dev.vmsight.tracer.capture.TrainingCorpus;
import dev.vmsight.tracer.trace.TraceFiles;
import dev.vmsight.tracer.trace.TraceReader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The training half of the pipeline for one lab program, each stage timed: trace N runs (the
 * tracer's corpus under .lab/corpus, traced only if missing), slice under a guard policy, merge,
 * write the program file (.lab/programs/&lt;program&gt;-&lt;policy&gt;-&lt;runs&gt;.vmprog). Shared by
 * the demo, the live lab tests and the benchmark.
 */
public final class Training {

    /** A trained program, where it was written, the corpus it came from and what each stage cost. */
    public record Trained(MergedProgram program, Path file, List<TrainingCorpus.Entry> corpus, SliceResult slice,
                          long traceNanos, long sliceNanos, long mergeNanos) { }

    /**
     * The guard policy of every trained program unless a command or test names another: the demo's
     * {@code --policy} default, the live lab tests and the benchmark script read it here. Chosen by
     * measurement (README "Guard policies"): VIRTUOSO answers on live guests, where STRICT and
     * RELAXED programs refuse (guards on the idle task's thread flags, which training never saw);
     * no policy gave a wrong answer in crossval or live, and on held-out moments of the training
     * process the guarded policies answer more often.
     */
    public static final GuardPolicy DEFAULT_POLICY = GuardPolicy.VIRTUOSO;

    private Training() {}

    public static Trained train(LabLayout lab, TrainingProgram which, int runs, GuardPolicy policy) {
        long t0 = System.nanoTime();
        List<TrainingCorpus.Entry> corpus = TrainingCorpus.ensure(lab, which, runs);
        long t1 = System.nanoTime();
        List<TraceReader> traces = new ArrayList<>();
        try {
            for (TrainingCorpus.Entry e : corpus) traces.add(TraceFiles.open(e.trace()));
            SliceResult slice = Slicer.slice(traces, policy, Slicer.trainingBinary(lab.root(), which.fileName()));
            long t2 = System.nanoTime();
            MergedProgram program = Merger.merge(traces, SliceInput.of(slice)).program();
            Path file = lab.root().resolve(".lab/programs").resolve(which.fileName() + "-" + policy.name().toLowerCase(java.util.Locale.ROOT)
                    + "-" + runs + ".vmprog");
            try {
                java.nio.file.Files.createDirectories(file.getParent());
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException("cannot create " + file.getParent(), e);
            }
            ProgramFiles.write(program, file);
            long t3 = System.nanoTime();
            return new Trained(program, file, corpus, slice, t1 - t0, t2 - t1, t3 - t2);
        } finally {
            traces.forEach(TraceReader::close);
        }
    }
}
