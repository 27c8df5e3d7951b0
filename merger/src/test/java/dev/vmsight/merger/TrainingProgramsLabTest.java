package dev.vmsight.merger;

import dev.vmsight.guests.LabLayout;
import dev.vmsight.guests.TrainingProgram;
import dev.vmsight.slicer.GuardPolicy;
import dev.vmsight.slicer.Slicer;
import dev.vmsight.tracer.capture.TrainingCorpus;
import dev.vmsight.tracer.trace.TraceFiles;
import dev.vmsight.tracer.trace.TraceReader;
import dev.vmsight.vmi.Budget;
import dev.vmsight.vmi.snapshot.Snapshot;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Real traces of the lab's training programs (H3's corpus: START snapshots and traces of varied
 * runs). A program merged from the first runs must give, on their START snapshots, the guest's own answer
 * (the trace's expected output, read from the real guest at END); on the other runs' snapshots
 * (held out) their own answers or UnseenPath, never a wrong answer.
 */
@Tag("lab")
class TrainingProgramsLabTest {
    /**
     * Own snapshots must answer; held-out ones answer or refuse (UnseenPath), never wrong. Guarded
     * pslist programs refuse on held-out moments when trained on one run (paths they never saw:
     * run 1 lists 366 processes over two getdents64 buffers) and answer them from more.
     */
    @ParameterizedTest(name = "{0} {1} trained on {2} run(s)")
    @CsvSource({"GETPID, STRICT, 1", "GETPID, VIRTUOSO, 1", "GETTIME, STRICT, 1", "PSLIST, DATA, 1",
            "PSLIST, STRICT, 1", "PSLIST, RELAXED, 3", "PSLIST, DATA, 3"})
    @Timeout(900)
    void programFromFirstRunsAnswersOwnAndHeldOutSnapshots(TrainingProgram which, GuardPolicy policy, int trained) {
        check(which, policy, trained, true);
    }

    /**
     * VIRTUOSO guards nothing: outside its training it follows the trained way whatever the guest
     * holds. Trained on run 0 (one buffer of /proc), on run 1 (two buffers) pslist loops into its
     * budget: it never learned that filldir64 stops at a full buffer. Its own snapshot must answer,
     * and an answer on a held-out one must be the guest's; any other outcome is printed, not held
     * to UnseenPath (the contract only the guarded policies keep).
     */
    @Test
    @Timeout(900)
    void virtuosoPslistNeverAnswersWrong() {
        check(TrainingProgram.PSLIST, GuardPolicy.VIRTUOSO, 1, false);
    }

    private static void check(TrainingProgram which, GuardPolicy policy, int trained, boolean refusesOutside) {
        String root = System.getProperty("vmsight.root");
        if (root == null) {
            fail("system property vmsight.root is not set (Surefire sets it to the repository root)");
        }
        LabLayout lab = LabLayout.at(Path.of(root));
        List<TrainingCorpus.Entry> corpus = TrainingCorpus.ensure(lab, which, Math.max(3, trained + 2));
        MergedProgram program;
        List<byte[]> expected = new ArrayList<>();
        List<TraceReader> training = new ArrayList<>();
        try {
            for (int i = 0; i < trained; i++) {
                training.add(TraceFiles.open(corpus.get(i).trace()));
            }
            program = Merger.merge(training, SliceInput.of(Slicer.slice(training, policy,
                    Slicer.trainingBinary(lab.root(), which.fileName())))).program();
        } finally {
            training.forEach(TraceReader::close);
        }
        for (TrainingCorpus.Entry e : corpus) {
            try (TraceReader r = TraceFiles.open(e.trace())) {
                expected.add(r.header().expectedOutput().bytes());
            }
        }
        System.out.printf("%s %s trained on %d: %s%n", which, policy, trained, program.stats());
        ReferenceExecutor executor = new ReferenceExecutor(program);
        for (int i = 0; i < corpus.size(); i++) {
            RunResult r;
            long t0 = System.nanoTime();
            try (Snapshot s = Snapshot.open(corpus.get(i).snapshot())) {
                r = executor.run(s, s.registers(), new byte[0], Budget.of(50_000_000, Duration.ofSeconds(120)));
            }
            System.out.printf("  run %d: %s in %.3f s%n", i, r instanceof RunResult.Answer a ? "answer "
                    + a.text().strip().replace('\n', ' ') : r, (System.nanoTime() - t0) / 1e9);
            if (i < trained) {
                RunResult.Answer a = assertInstanceOf(RunResult.Answer.class, r, "own START snapshot: " + r);
                assertArrayEquals(expected.get(i), a.bytes(), "the guest's own answer on training run " + i);
            } else if (r instanceof RunResult.Answer a) {
                assertArrayEquals(expected.get(i), a.bytes(), "held-out run " + i + ": a wrong answer "
                        + Arrays.toString(a.bytes()));
            } else if (refusesOutside) {
                assertInstanceOf(RunResult.UnseenPath.class, r, "held-out run " + i + ": " + r);
            }
        }
    }
}
