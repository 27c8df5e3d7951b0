package dev.vmsight.cli.run;

import static dev.vmsight.cli.CliRun.vmsight;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.vmsight.cli.CliRun.Run;
import dev.vmsight.guests.Guest;
import dev.vmsight.guests.LabInstance;
import dev.vmsight.guests.LabLayout;
import dev.vmsight.guests.TrainingProgram;
import dev.vmsight.jit.run.Answer;
import dev.vmsight.jit.run.GuestSource;
import dev.vmsight.jit.run.GuestSources;
import dev.vmsight.jit.run.GuestSpec;
import dev.vmsight.jit.run.ProgramRuns;
import dev.vmsight.jit.run.RunOutcome;
import dev.vmsight.jit.train.GuestView;
import dev.vmsight.jit.train.Training;
import dev.vmsight.merger.MergedProgram;
import dev.vmsight.slicer.GuardPolicy;
import dev.vmsight.tracer.capture.TrainingInputs;
import dev.vmsight.tracer.trace.TraceFiles;
import dev.vmsight.tracer.trace.TraceHeader;
import dev.vmsight.tracer.trace.TraceReader;
import dev.vmsight.vmi.Budget;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * All six trained programs ({@code Training.train}: corpus, slice under {@link Training#DEFAULT_POLICY},
 * merge, calibrate, JIT) against
 * <ol>
 *   <li>the training runs' own START snapshots, whose expected answer is the guest's own (the
 *       program's output at END);</li>
 *   <li>one live lab guest, booted once as a libvirt domain with 20 sleepers, through its shared
 *       RAM file, through libvirt (virDomainMemoryPeek) and through an ELF dump of it.</li>
 * </ol>
 * JIT and reference executor must give the same outcome on every source. getpsfile and getdrvfile
 * take an input of the second kind training uses (a sleeper's PID, the last module's base) in
 * their natural form. The guest's own view is {@link GuestView}'s (just before and just after the
 * paused moment; for the dump, around writing it). getpid's answer is checked harder than
 * GuestView can: it must be the thread group of the task the monitor itself found running on the
 * vCPU (its run context), 0 when that is the idle task.
 *
 * <p>{@code -Dvmsight.policy=virtuoso} (or relaxed, strict) measures another policy without
 * editing the test.
 */
@Tag("lab")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 1800)
class LiveMonitorsLabTest {

    private static final String NAME = "test-live-monitors";
    private static final String URI = "qemu:///system";
    /** Step and time limits of one run: a safety net, not a measurement (memoryPeek costs ≈10 ms a page). */
    private static final long STEPS = 200_000_000;
    private static final Duration RUN_BUDGET = Duration.ofSeconds(60);

    @TempDir
    Path dir;

    private GuardPolicy policy;
    private LabLayout lab;
    private final Map<TrainingProgram, Training.Trained> trained = new EnumMap<>(TrainingProgram.class);
    private boolean booted;

    @BeforeAll
    void trainAndBoot() {
        String root = System.getProperty("vmsight.root");
        if (root == null) fail("system property vmsight.root is not set (Surefire sets it to the repository root)");
        lab = LabLayout.at(Path.of(root));
        String named = System.getProperty("vmsight.policy");
        policy = named == null || named.isBlank() ? Training.DEFAULT_POLICY : GuardPolicy.valueOf(named.toUpperCase(Locale.ROOT));
        System.out.println("guard policy: " + policy);
        for (TrainingProgram p : TrainingProgram.values()) {
            Training.Trained t = Training.train(lab, p, Training.defaultRuns(p), policy);
            MergedProgram.Statistics s = t.program().stats();
            System.out.printf("%s: trace %.1f s, slice %.1f s, merge %.1f s; %d instructions, kept %d of %d µop executions, %d guards; %s%n",
                    p.fileName(), t.traceNanos() / 1e9, t.sliceNanos() / 1e9, t.mergeNanos() / 1e9, s.instructions(),
                    s.keptUopExecutions(), s.uopExecutions(), s.guards(), t.selfCheck().summary());
            trained.put(p, t);
        }
        Run boot = vmsight("lab", "boot", "--libvirt", "--name", NAME, "--procs", "20");
        assertEquals(0, boot.exit(), "lab boot --libvirt (is libvirtd up? scripts/libvirtd-up.sh): " + boot.err());
        booted = true;
    }

    @AfterAll
    void stop() {
        if (booted) vmsight("lab", "stop", "--name", NAME);
    }

    private record Both(RunOutcome jit, RunOutcome reference) {}

    private Both runBoth(TrainingProgram p, GuestSource source, byte[] input, List<String> failures) {
        Training.Trained t = trained.get(p);
        RunOutcome jit = ProgramRuns.runJit(t.program(), t.monitor(), source, input, Budget.of(STEPS, RUN_BUDGET));
        RunOutcome ref = ProgramRuns.runReference(t.program(), source, input, Budget.of(STEPS, RUN_BUDGET));
        System.out.printf("  %s via %s: jit %s | reference %s%n", p.fileName(), source.describe(), brief(jit), brief(ref));
        if (!strip(ref).equals(strip(jit))) {
            failures.add(p + " via " + source.describe() + ": JIT and reference executor disagree: jit " + strip(jit)
                    + ", reference " + strip(ref));
        }
        return new Both(jit, ref);
    }

    private static String brief(RunOutcome o) {
        String s = o.toJson();
        return s.length() > 300 ? s.substring(0, 300) + "..." : s;
    }

    /** The outcome without backend, timing and step counts (the backends count steps differently). */
    private static String strip(RunOutcome o) {
        if (o instanceof RunOutcome.Answered a) return "answer " + a.answer().kind() + " " + a.answer().numbers() + " " + a.answer().text();
        if (o instanceof RunOutcome.UnseenPath u) return "unseen " + Long.toHexString(u.site()) + " -> " + Long.toHexString(u.observed());
        if (o instanceof RunOutcome.OverBudget) return "budget";
        return "failed " + ((RunOutcome.Failed) o).kind();
    }

    @Test
    void trainingSnapshotsGiveTheGuestsOwnAnswers() {
        List<String> failures = new ArrayList<>();
        for (var e : trained.entrySet()) {
            for (var run : e.getValue().corpus()) {
                TraceHeader header;
                try (TraceReader r = TraceFiles.open(run.trace())) {
                    header = r.header();
                }
                try (GuestSource s = GuestSources.snapshot(run.snapshot())) {
                    Both b = runBoth(e.getKey(), s, header.input().bytes(), failures);
                    Answer want = Answer.decode(e.getKey().fileName(), e.getValue().program().output().kind(), header.expectedOutput().bytes());
                    if (!(b.jit() instanceof RunOutcome.Answered a) || !want.equals(a.answer())) {
                        failures.add(e.getKey() + " on " + run.snapshot() + ": expected " + want + ", jit " + b.jit().toText());
                    }
                }
            }
        }
        assertTrue(failures.isEmpty(), "training snapshots (" + policy + "):\n  " + String.join("\n  ", failures));
    }

    @Test
    void throughTheSharedRamFile() {
        liveCheck("RAM file", () -> GuestSources.open(new GuestSpec.Lab(lab, NAME), 0));
    }

    @Test
    void throughLibvirtMemoryPeek() {
        liveCheck("libvirt", () -> GuestSources.open(new GuestSpec.Libvirt(URI, NAME, GuestSpec.LibvirtMemory.PEEK), 0));
    }

    @Test
    void throughAnElfDump() {
        liveCheck("ELF dump", () -> {
            Path core = dir.resolve("guest.core");
            Run d = vmsight("lab", "dump", "--name", NAME, core.toString());
            assertEquals(0, d.exit(), d.err());
            return GuestSources.open(new GuestSpec.Dump(core), 0);
        });
    }

    private void liveCheck(String via, Supplier<GuestSource> open) {
        List<String> failures = new ArrayList<>();
        Guest guest = LabInstance.attach(lab, NAME);
        try {
            Map<TrainingProgram, String> inputs = new EnumMap<>(TrainingProgram.class);
            Map<TrainingProgram, GuestView> views = new EnumMap<>(TrainingProgram.class);
            for (TrainingProgram p : TrainingProgram.values()) {
                List<String> args = TrainingInputs.args(p, 1, guest);
                inputs.put(p, args.isEmpty() ? null : args.get(0));
                views.put(p, GuestView.before(guest, p, inputs.get(p)));
            }
            Map<TrainingProgram, Both> got = new EnumMap<>(TrainingProgram.class);
            long runningTask;
            try (GuestSource s = open.get()) {
                runningTask = ProgramRuns.attach(trained.get(TrainingProgram.GETPID).program(), s).task();
                for (TrainingProgram p : TrainingProgram.values()) {
                    MergedProgram program = trained.get(p).program();
                    got.put(p, runBoth(p, s, ProgramRuns.inputBytes(program, inputs.get(p)), failures));
                }
            }
            for (TrainingProgram p : TrainingProgram.values()) {
                RunOutcome o = got.get(p).jit();
                if (!(o instanceof RunOutcome.Answered a)) {
                    failures.add(p.fileName() + " via " + via + ": " + o.toText());
                    continue;
                }
                GuestView.Verdict v = views.get(p).after(guest, a.answer());
                System.out.printf("live %s %s via %s: %s%n", p.fileName(), inputs.get(p) == null ? "" : inputs.get(p), via, v.detail());
                if (!v.agrees()) failures.add(p.fileName() + " via " + via + ": " + v.detail());
            }
            // getpid: the TGID of the task the vCPU ran; the idle task (init_task, this vCPU's own) is PID 0
            if (got.get(TrainingProgram.GETPID).jit() instanceof RunOutcome.Answered a) {
                long pid = a.answer().numbers().get(0);
                long initTask = trained.get(TrainingProgram.GETPID).program().runContext().initTask();
                if (runningTask == initTask && pid != 0) {
                    failures.add("getpid via " + via + " = " + pid + ", but the vCPU ran the idle task: 0");
                }
            }
        } finally {
            LabInstance.release(guest);
        }
        assertTrue(failures.isEmpty(), "live monitors (" + policy + ") via " + via + " vs the guest's own view:\n  "
                + String.join("\n  ", failures));
    }
}
