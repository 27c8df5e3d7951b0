package dev.vmsight.jit.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmsight.guests.GuestConfig;
import dev.vmsight.guests.LabLayout;
import dev.vmsight.guests.QemuGuest;
import dev.vmsight.guests.QemuLauncher;
import dev.vmsight.guests.TrainingProgram;
import dev.vmsight.jit.run.GuestSource;
import dev.vmsight.jit.run.GuestSources;
import dev.vmsight.jit.run.ProgramRuns;
import dev.vmsight.jit.run.RunOutcome;
import dev.vmsight.slicer.GuardPolicy;
import dev.vmsight.vmi.Budget;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * Monitors outside the conditions of one training boot, live (the representative case of README's
 * reliability series, {@code vmsight reliability}): three boots of the lab guest, one with 1,000
 * sleepers on 1 vCPU and PIDs moved above 4,096, one with 10 sleepers on 2 vCPUs, one with 300
 * sleepers on 4 vCPUs and PIDs above 262,144; in each, all six programs at each pause point (idle,
 * a busy loop in user mode per vCPU, a process per vCPU busy in the kernel) against the guest's
 * own view. And a program that leaves its training: pslist trained without a listing that
 * overflows one getdents64 buffer, on a guest of 400 sleepers, refuses at the first untrained
 * decision, quickly, instead of looping into its budget.
 */
@Tag("lab")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 2400)
class TrainingEnvelopeLabTest {

    private LabLayout lab;
    private final List<Training.Trained> trained = new ArrayList<>();

    @BeforeAll
    void train() {
        lab = SixPrograms.lab();
        trained.addAll(SixPrograms.trained(lab));
    }

    @Test
    void sixProgramsOnThreeBootsAtEveryPausePoint() {
        LiveSeries.Plan plan = new LiveSeries.Plan(3, List.of(1000, 10, 300), List.of(1, 2, 4), List.of(5000, 0, 300_000),
                List.of(LiveSeries.Pause.values()), List.of(TrainingProgram.values()), Budget.of(2_000_000_000L, Duration.ofSeconds(30)));
        List<LiveSeries.Run> runs = LiveSeries.run(lab, plan, trained, new LiveSeries.Listener() {
            @Override public void boot(int boot, GuestConfig config, int pidFloor) {
                System.out.printf("boot %d: %d sleepers, %d vCPUs, PID floor %d%n", boot, config.procs(), config.cpus(), pidFloor);
            }

            @Override public void run(LiveSeries.Run r) {
                System.out.println("  " + r.csv());
            }
        });
        assertEquals(3 * 3 * 6, runs.size());
        List<String> bad = runs.stream().filter(r -> r.result() != LiveSeries.Result.CORRECT).map(LiveSeries.Run::csv).toList();
        assertTrue(bad.isEmpty(), "runs that did not give the guest's answer:\n  " + String.join("\n  ", bad));
        assertTrue(runs.stream().filter(r -> r.program() == TrainingProgram.PSLIST).allMatch(r -> r.detail().endsWith("the tasks list agrees")),
                "every pslist answer is also held against the tasks list walked by hand in the same paused memory");
        assertTrue(runs.stream().anyMatch(r -> r.observed().equals("user")), "no run paused a vCPU in user mode");
        assertTrue(runs.stream().anyMatch(r -> r.observed().equals("kernel")), "no run paused a vCPU busy in the kernel");
    }

    @Test
    void aProgramOutsideItsTrainingRefusesAtTheFirstUntrainedDecision() {
        // runs 0, 2 and 3 list at most ~70 processes: one getdents64 buffer; run 1 (500 more sleepers) is left out
        Training.Trained narrow = Training.train(lab, TrainingProgram.PSLIST, List.of(0, 2, 3), GuardPolicy.DATA, Training.Progress.NONE);
        assertTrue(narrow.selfCheck().passed(), narrow.selfCheck().summary());
        Training.Trained full = trained.get(TrainingProgram.PSLIST.ordinal());
        GuestConfig config = lab.defaultConfig("test-envelope", lab.pinnedKernel()).withProcs(400);
        try (QemuGuest guest = QemuLauncher.start(config)) {
            // No listing by the guest first: the monitors' is the first, cold one (no /proc/PID cached),
            // as on a guest nobody ran ps on; training's run 1 lists 500 uncached processes
            RunOutcome answered, refused;
            long t0, t1, t2;
            try (GuestSource s = GuestSources.of(guest, 0)) {
                Budget budget = Budget.of(2_000_000_000L, Duration.ofSeconds(30));
                t0 = System.nanoTime();
                answered = ProgramRuns.runChecked(full.program(), full.monitor(), s, null, budget);
                t1 = System.nanoTime();
                refused = ProgramRuns.runChecked(narrow.program(), narrow.monitor(), s, null, budget);
                t2 = System.nanoTime();
            }
            System.out.printf("400 sleepers: trained with a full buffer %s in %d ms; without %s in %d ms%n",
                    answered instanceof RunOutcome.Answered a ? a.answer().numbers().size() + " PIDs" : answered.toText(),
                    (t1 - t0) / 1_000_000, refused.toText(), (t2 - t1) / 1_000_000);
            assertInstanceOf(RunOutcome.Answered.class, answered, answered.toText());
            // the guest's own view, read after the monitors (a guest of sleepers: nothing starts or exits)
            GuestView.Verdict verdict = GuestView.afterColdRun(guest, TrainingProgram.PSLIST, null,
                    ((RunOutcome.Answered) answered).answer());
            assertTrue(verdict.agrees(), verdict.detail());
            assertInstanceOf(RunOutcome.UnseenPath.class, refused, "outside its training the program must refuse with the site: "
                    + refused.toText());
            assertTrue(t2 - t1 < 10 * Math.max(t1 - t0, 100_000_000L), "the refusal took " + (t2 - t1) / 1_000_000
                    + " ms, the answer " + (t1 - t0) / 1_000_000 + " ms: a refusal comes at the first untrained decision");
        }
    }
}
