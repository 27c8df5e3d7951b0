package dev.vmsight.cli.run;

import dev.vmsight.jit.run.GuestSource;
import dev.vmsight.jit.run.GuestSources;
import dev.vmsight.jit.run.ProgramRuns;
import dev.vmsight.jit.run.RunOutcome;
import dev.vmsight.jit.run.Answer;
import dev.vmsight.jit.run.GuestSpec;
import dev.vmsight.jit.train.Training;

import dev.vmsight.cli.CliRun.Run;
import static dev.vmsight.cli.CliRun.vmsight;

import static org.junit.jupiter.api.Assertions.*;

import dev.vmsight.cli.Vmsight;
import dev.vmsight.guests.LabLayout;
import dev.vmsight.guests.TrainingProgram;
import dev.vmsight.jit.CompiledMonitor;
import dev.vmsight.merger.MergedProgram;
import dev.vmsight.slicer.GuardPolicy;
import dev.vmsight.tracer.trace.TraceFiles;
import dev.vmsight.tracer.trace.TraceHeader;
import dev.vmsight.tracer.trace.TraceReader;
import dev.vmsight.vmi.Budget;
import dev.vmsight.vmi.VmiException;
import dev.vmsight.vmi.paging.AddressSpace;
import dev.vmsight.vmi.snapshot.Snapshot;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 7's "live use": the trained getpid, gettime and pslist monitors (corpus → slice under
 * {@link Training#DEFAULT_POLICY} → merge → JIT) against
 * <ol>
 *   <li>the training runs' own START snapshots, whose expected answer is the guest's own (the
 *       program's output at END);</li>
 *   <li>one live lab guest, booted once as a libvirt domain with 20 sleepers, through its shared
 *       RAM file, through libvirt (virDomainMemoryPeek) and through an ELF dump of it.</li>
 * </ol>
 * JIT and reference executor must give the same outcome on every source.
 *
 * <p>The guest's own view. The monitor runs while the guest is paused; qemu-ga needs it running,
 * so the view is bracketed by readings just before and just after (for the dump: before and after
 * writing it):
 * <ul>
 *   <li>pslist: a PID in {@code ls /proc} both before and after must be listed; a listed PID
 *       must be in one of them (only the {@code ls} processes themselves come and go).</li>
 *   <li>gettime: the seconds must lie between {@code date +%s} before and after.</li>
 *   <li>getpid: a paused guest has no "calling process"; getpid out of the guest means the
 *       thread group of the task <em>current on the vCPU</em> at the paused moment (what the
 *       kernel's {@code current} is). qemu-ga cannot show that moment: asking it makes qemu-ga's
 *       child current. So the oracle is the kernel's own per-CPU pointer, located by the guest's
 *       own symbol table: {@code current_task} (a per-CPU offset in /proc/kallsyms) read at the
 *       vCPU's per-CPU base through the same memory. If it is {@code &init_task} (the idle task,
 *       the usual case on an idle TCG guest) the answer must be 0, the idle task's PID; otherwise
 *       a PID other than 0 that the guest showed before or after.</li>
 * </ul>
 *
 * <p>The policy is {@link Training#DEFAULT_POLICY}; {@code -Dvmsight.policy=relaxed} (or strict)
 * measures another one without editing the test.
 */
@Tag("lab")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 1500)
class LiveMonitorsLabTest {

    private static final String NAME = "test-live-monitors";
    private static final String URI = "qemu:///system";
    private static final int RUNS = 3;
    private static final List<TrainingProgram> PROGRAMS = List.of(TrainingProgram.GETPID, TrainingProgram.GETTIME, TrainingProgram.PSLIST);
    /** Step and time limits of one run: a safety net, not a measurement (memoryPeek costs ≈10 ms a page). */
    private static final long STEPS = 50_000_000;
    private static final Duration RUN_BUDGET = Duration.ofSeconds(60);

    @TempDir
    Path dir;

    private GuardPolicy policy;
    private LabLayout lab;
    private final Map<TrainingProgram, Training.Trained> trained = new EnumMap<>(TrainingProgram.class);
    private final Map<TrainingProgram, CompiledMonitor> compiled = new EnumMap<>(TrainingProgram.class);
    private boolean booted;
    private long currentTaskOffset;
    private long initTask;

    @BeforeAll
    void trainAndBoot() {
        String root = System.getProperty("vmsight.root");
        if (root == null) fail("system property vmsight.root is not set (Surefire sets it to the repository root)");
        lab = LabLayout.at(Path.of(root));
        String named = System.getProperty("vmsight.policy");
        policy = named == null || named.isBlank() ? Training.DEFAULT_POLICY : GuardPolicy.valueOf(named.toUpperCase(Locale.ROOT));
        System.out.println("guard policy: " + policy);
        for (TrainingProgram p : PROGRAMS) {
            Training.Trained t = Training.train(lab, p, RUNS, policy);
            MergedProgram.Statistics s = t.program().stats();
            System.out.printf("%s: trace %.1f s, slice %.1f s, merge %.1f s; %d instructions, kept %d of %d µop executions, %d guards%n",
                    p.fileName(), t.traceNanos() / 1e9, t.sliceNanos() / 1e9, t.mergeNanos() / 1e9, s.instructions(),
                    s.keptUopExecutions(), s.uopExecutions(), s.guards());
            trained.put(p, t);
            compiled.put(p, ProgramRuns.compile(t.program()));
        }
        Run boot = vmsight("lab", "boot", "--libvirt", "--name", NAME, "--procs", "20");
        assertEquals(0, boot.exit(), "lab boot --libvirt (is libvirtd up? scripts/libvirtd-up.sh): " + boot.err());
        booted = true;
        Run k = vmsight("lab", "exec", "--name", NAME, "--", "/bin/grep", "-E", " (current_task|init_task)$", "/proc/kallsyms");
        assertEquals(0, k.exit(), k.err());
        Map<String, Long> symbols = new java.util.HashMap<>();
        for (String line : k.out().split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 3) symbols.putIfAbsent(f[2], Long.parseUnsignedLong(f[0], 16));
        }
        assertTrue(symbols.containsKey("current_task") && symbols.containsKey("init_task"), "guest's /proc/kallsyms: " + k.out());
        currentTaskOffset = symbols.get("current_task");
        initTask = symbols.get("init_task");
        assertTrue(currentTaskOffset >= 0 && currentTaskOffset < (1L << 32),
                "current_task is not a per-CPU offset in /proc/kallsyms: 0x" + Long.toHexString(currentTaskOffset));
    }

    @AfterAll
    void stop() {
        if (booted) vmsight("lab", "stop", "--name", NAME);
    }

    private record Both(RunOutcome jit, RunOutcome reference) {}

    /** A live source with the process registers of the program's first training run (see ProgramRuns.withTrainingProcess). */
    private GuestSource asTrainingProcess(TrainingProgram p, GuestSource live) {
        try (Snapshot snap = Snapshot.open(trained.get(p).corpus().get(0).snapshot())) {
            return ProgramRuns.withTrainingProcess(live, snap.registers());
        }
    }

    private Both runBoth(TrainingProgram p, GuestSource source, List<String> failures) {
        MergedProgram program = trained.get(p).program();
        RunOutcome jit = ProgramRuns.runJit(program, compiled.get(p), source, null, Budget.of(STEPS, RUN_BUDGET));
        RunOutcome ref = ProgramRuns.runReference(program, source, null, Budget.of(STEPS, RUN_BUDGET));
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
                    Both b = runBoth(e.getKey(), s, failures);
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
        liveCheck("RAM file", () -> GuestSources.open(new GuestSpec.Lab(dev.vmsight.guests.LabLayout.locate(), NAME), 0));
    }

    @Test
    void throughLibvirtMemoryPeek() {
        liveCheck("libvirt", () -> GuestSources.open(new GuestSpec.Libvirt(URI, NAME), 0));
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

    private Set<Long> procPids() {
        Run r = vmsight("lab", "exec", "--name", NAME, "--", "/bin/ls", "/proc");
        assertEquals(0, r.exit(), r.err());
        Set<Long> pids = new TreeSet<>();
        Matcher m = Pattern.compile("(?m)^(\\d+)$").matcher(r.out());
        while (m.find()) pids.add(Long.parseLong(m.group(1)));
        return pids;
    }

    private long epochSeconds() {
        Run r = vmsight("lab", "exec", "--name", NAME, "--", "/bin/date", "+%s");
        assertEquals(0, r.exit(), r.err());
        return Long.parseLong(r.out().strip());
    }

    /** The kernel's {@code current} on the source's vCPU: the per-CPU {@code current_task} at the per-CPU base (GS at CPL 0). */
    private long currentTask(GuestSource live) {
        var vcpu = ProgramRuns.userEntryView(live.vcpu());
        long perCpu = vcpu.find("kernel_gs_base").orElse(0);
        assertTrue(perCpu < 0, live.describe() + ": no kernel per-CPU base (vCPU paused in user mode with no KernelGSbase?): 0x"
                + Long.toHexString(perCpu));
        try {
            return AddressSpace.of(live.memory(), live.vcpu()).readLong(perCpu + currentTaskOffset);
        } catch (VmiException e) {
            throw new AssertionError(live.describe() + ": current_task unreadable at 0x" + Long.toHexString(perCpu + currentTaskOffset), e);
        }
    }

    private void liveCheck(String via, Supplier<GuestSource> open) {
        List<String> failures = new ArrayList<>();
        Set<Long> before = procPids();
        long t0 = epochSeconds();
        Map<TrainingProgram, Both> got = new EnumMap<>(TrainingProgram.class);
        long current;
        try (GuestSource s = open.get()) {
            current = currentTask(s);
            for (TrainingProgram p : PROGRAMS) got.put(p, runBoth(p, asTrainingProcess(p, s), failures));
        }
        long t1 = epochSeconds();
        Set<Long> after = procPids();

        // every check runs and is reported; the test fails at the end if any did
        RunOutcome gp = got.get(TrainingProgram.GETPID).jit();
        boolean idle = current == initTask;
        if (gp instanceof RunOutcome.Answered a) {
            long pid = a.answer().numbers().get(0);
            if (idle && pid != 0) {
                failures.add("getpid via " + via + " = " + pid + ", but the vCPU ran the idle task (current_task = &init_task): 0");
            } else if (!idle && (pid == 0 || !(before.contains(pid) || after.contains(pid)))) {
                failures.add("getpid via " + via + " = " + pid + ", but current_task = 0x" + Long.toHexString(current)
                        + " is not the idle task: a PID the guest showed was expected");
            }
            System.out.printf("live getpid via %s: %d (current_task 0x%x, %s)%n", via, pid, current, idle ? "idle" : "a process");
        } else {
            failures.add("getpid via " + via + ": " + gp.toText());
        }
        RunOutcome gt = got.get(TrainingProgram.GETTIME).jit();
        if (gt instanceof RunOutcome.Answered a) {
            long time = a.answer().numbers().get(0);
            if (time < t0 || time > t1) failures.add("gettime via " + via + " = " + time + " outside [" + t0 + ", " + t1 + "]");
            System.out.printf("live gettime via %s: %d in [%d, %d]%n", via, time, t0, t1);
        } else {
            failures.add("gettime via " + via + ": " + gt.toText());
        }
        RunOutcome ps = got.get(TrainingProgram.PSLIST).jit();
        if (ps instanceof RunOutcome.Answered a) {
            Set<Long> listed = new TreeSet<>(a.answer().numbers());
            Set<Long> stable = new TreeSet<>(before);
            stable.retainAll(after);
            Set<Long> missing = new TreeSet<>(stable);
            missing.removeAll(listed);
            Set<Long> unknown = new TreeSet<>(listed);
            unknown.removeAll(before);
            unknown.removeAll(after);
            if (!missing.isEmpty()) failures.add("pslist via " + via + " misses " + missing);
            if (!unknown.isEmpty()) failures.add("pslist via " + via + " lists PIDs the guest never showed: " + unknown);
            System.out.printf("live pslist via %s: %d PIDs (guest: %d stable)%n", via, listed.size(), stable.size());
        } else {
            failures.add("pslist via " + via + ": " + ps.toText());
        }
        assertTrue(failures.isEmpty(), "live monitors (" + policy + ") via " + via + " vs the guest's own view:\n  "
                + String.join("\n  ", failures));
    }
}
