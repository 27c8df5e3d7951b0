package dev.vmsight.cli;

import dev.vmsight.jit.run.GuestSource;
import dev.vmsight.jit.run.GuestSources;
import dev.vmsight.jit.run.KernelCodeCheck;
import dev.vmsight.jit.run.ProgramRuns;
import dev.vmsight.jit.run.RunOutcome;
import dev.vmsight.jit.train.Training;
import dev.vmsight.guests.ExecResult;
import dev.vmsight.guests.KernelPackage;
import dev.vmsight.guests.LabLayout;
import dev.vmsight.guests.QemuGuest;
import dev.vmsight.guests.QemuLauncher;
import dev.vmsight.guests.TrainingProgram;
import dev.vmsight.jit.CompiledMonitor;
import dev.vmsight.merger.MergedProgram;
import dev.vmsight.slicer.GuardPolicy;
import dev.vmsight.vmi.Budget;
import dev.vmsight.vmi.paging.AddressSpace;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code vmsight demo}: the whole method on a fresh machine. Builds the lab if needed; trains
 * pslist (traces N runs in a lab guest — reused from .lab/corpus when present —, slices, merges,
 * compiles to JVM bytecode); boots a guest with a workload; runs the compiled monitor against the
 * live guest through its shared RAM file (paused while it runs) and prints its PIDs beside the
 * guest's own view ({@code ls /proc} just before and just after), with the time of each stage
 * and the monitor's latency over repeated runs.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Train pslist, compile it, run it against a live guest with a workload, compare with the guest's own view; with timings.")
final class DemoCommand implements Callable<Integer> {

    @Spec CommandSpec spec;

    private static final Duration EXEC = Duration.ofSeconds(60);

    @Option(names = "--procs", defaultValue = "300", description = "sleeper processes in the workload (default: ${DEFAULT-VALUE}: more than one getdents64 buffer of /proc holds)")
    int procs;

    @Option(names = "--runs", defaultValue = "4", description = "training runs to trace and merge (default: ${DEFAULT-VALUE}, one boot's)")
    int runs;

    @Option(names = "--policy", description = "guard policy: data, virtuoso, relaxed or strict (default: ${DEFAULT-VALUE})")
    String policy = Training.DEFAULT_POLICY.name().toLowerCase(java.util.Locale.ROOT);

    @Option(names = "--repeat", defaultValue = "200", description = "monitor runs timed against the paused guest (default: ${DEFAULT-VALUE})")
    int repeat;

    @Option(names = "--warmup", defaultValue = "1000",
            description = "untimed runs before the timed ones, so that HotSpot has compiled the monitor as JMH measures it "
                    + "(default: ${DEFAULT-VALUE}; at most 10 s of them)")
    int warmup;

    /** Wall time the warm-up may take at most (a slow guest source must not hold the demo). */
    private static final Duration WARMUP_LIMIT = Duration.ofSeconds(10);

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        LabLayout lab = Labs.layout();
        KernelPackage kernel = lab.pinnedKernel();
        out.println("vmsight demo: " + kernel + ", QEMU TCG, pslist trained on " + runs + " runs, workload " + procs + " sleepers");

        long t = System.nanoTime();
        lab.build(kernel);
        stage(out, "build lab image (or reuse .lab)", System.nanoTime() - t);

        GuardPolicy guards = GuardPolicy.parse(policy);
        Training.Trained trained = Training.train(lab, TrainingProgram.PSLIST, runs, guards, new Training.Progress() {
            @Override public void stageDone(Training.Stage s) {
                stage(out, s.name() + ": " + s.detail(), s.nanos());
            }

            @Override public void note(String line) {
                out.println("    " + line);
                out.flush();
            }
        });
        MergedProgram program = trained.program();
        MergedProgram.Statistics st = program.stats();
        out.printf("    %d instructions, %d of %d µop executions kept (%.2f%%), %d branches, %d guards%n", st.instructions(),
                st.keptUopExecutions(), st.uopExecutions(), 100.0 * st.keptUopExecutions() / Math.max(1, st.uopExecutions()),
                st.branches(), st.guards());
        CompiledMonitor monitor = trained.monitor();

        // the program on its own training moments: the expected answer is the guest's own (pslist's output at END)
        for (var run : trained.corpus()) {
            try (GuestSource s = GuestSources.snapshot(run.snapshot());
                 var header = dev.vmsight.tracer.trace.TraceFiles.open(run.trace())) {
                int expected = header.header().expectedOutput().length() / 4;
                RunOutcome jit = ProgramRuns.runJit(program, monitor, s, null, Budget.of(50_000_000, Duration.ofSeconds(5)));
                RunOutcome ref = ProgramRuns.runReference(program, s, null, Budget.of(50_000_000, Duration.ofSeconds(30)));
                out.printf("    on %s (guest's own answer: %d PIDs): jit %s | reference %s%n", run.snapshot().getFileName(), expected,
                        summary(jit), summary(ref));
            }
        }

        t = System.nanoTime();
        boolean agree;
        long stopping;
        try (QemuGuest guest = QemuLauncher.start(lab.defaultConfig("demo", kernel).withProcs(procs))) {
            stage(out, "boot guest (QEMU PID " + guest.pid() + ")", System.nanoTime() - t);
            Set<Long> before = procPids(guest);
            RunOutcome outcome;
            List<Long> micros = new ArrayList<>();
            int warmed = 0;
            t = System.nanoTime();
            try (GuestSource source = GuestSources.of(guest, 0)) {
                var attached = ProgramRuns.attach(program, source);
                KernelCodeCheck.Match m = KernelCodeCheck.verify(ProgramRuns.kernelCode(program),
                        AddressSpace.of(attached.memory(), attached.vcpu()), source.describe(), program.features());
                out.printf("    kernel code check: %d instructions, %d bytes equal to the trained kernel's%n", m.instructions(), m.bytes());
                outcome = ProgramRuns.runJit(program, monitor, attached, null, Budget.of(50_000_000, Duration.ofSeconds(5)));
                long warmEnd = System.nanoTime() + WARMUP_LIMIT.toNanos();
                for (int i = 0; i < warmup && outcome instanceof RunOutcome.Answered && System.nanoTime() < warmEnd; i++) {
                    ProgramRuns.runJit(program, monitor, attached, null, Budget.of(50_000_000, Duration.ofSeconds(5)));
                    warmed++;
                }
                for (int i = 0; i < repeat && outcome instanceof RunOutcome.Answered; i++) {
                    RunOutcome again = ProgramRuns.runJit(program, monitor, attached, null, Budget.of(50_000_000, Duration.ofSeconds(5)));
                    if (again instanceof RunOutcome.Answered a) micros.add(a.micros());
                }
            }
            stage(out, "run the monitor on the paused guest (RAM file)", System.nanoTime() - t);
            Set<Long> after = procPids(guest);
            if (!(outcome instanceof RunOutcome.Answered answered)) {
                // A refusal (UnseenPath, memory error, budget) is structured and never a wrong answer,
                // but it is not an answer either: say so beside the guest's own view, exit 1.
                out.println("monitor: " + outcome.toText());
                out.println("guest's own view: " + before.size() + " PIDs before, " + after.size() + " after (ls /proc)");
                out.println("-> NO ANSWER: the monitor met a decision its training never saw take that way and refused rather "
                        + "than guess; train with more runs (vmsight train pslist --runs N) or a workload like this guest's");
                agree = false;
            } else {
                if (!micros.isEmpty()) {
                    Collections.sort(micros);
                    out.printf("    monitor latency over %d runs after %d warm-up runs: median %d µs, min %d µs (JIT, RAM file, paused guest;"
                                    + " JMH's figure: benchmarks/README.md)%n",
                            micros.size(), warmed, micros.get(micros.size() / 2), micros.get(0));
                }
                agree = compare(out, new TreeSet<>(answered.answer().numbers()), before, after);
            }
            stopping = System.nanoTime();
        }
        stage(out, "stop guest", System.nanoTime() - stopping);
        return agree ? 0 : 1;
    }

    private static String summary(RunOutcome o) {
        return o instanceof RunOutcome.Answered a ? a.answer().numbers().size() + " PIDs" : o.toText();
    }

    private static Set<Long> procPids(QemuGuest guest) {
        ExecResult r = guest.exec(EXEC, List.of("/bin/ls", "/proc"));
        Set<Long> out = new TreeSet<>();
        Matcher m = Pattern.compile("(?m)^(\\d+)$").matcher(r.stdoutOrThrow("ls /proc"));
        while (m.find()) out.add(Long.parseLong(m.group(1)));
        return out;
    }

    /**
     * The monitor's PIDs beside the guest's own. The guest's view is read just before and just
     * after the paused moment (qemu-ga needs the guest running): a PID in both must be listed by
     * the monitor; a listed PID must be in one of them. Only the ls processes themselves differ.
     */
    private static boolean compare(PrintWriter out, Set<Long> monitor, Set<Long> before, Set<Long> after) {
        Set<Long> all = new TreeSet<>(monitor);
        all.addAll(before);
        all.addAll(after);
        out.printf("%8s  %-8s %-14s %-13s%n", "PID", "monitor", "ls before", "ls after");
        Set<Long> missed = new TreeSet<>();
        Set<Long> invented = new TreeSet<>();
        for (long pid : all) {
            boolean inM = monitor.contains(pid), inB = before.contains(pid), inA = after.contains(pid);
            out.printf("%8d  %-8s %-14s %-13s%n", pid, inM ? "yes" : "-", inB ? "yes" : "-", inA ? "yes" : "-");
            if (inB && inA && !inM) missed.add(pid);
            if (inM && !inB && !inA) invented.add(pid);
        }
        boolean agree = missed.isEmpty() && invented.isEmpty();
        out.println("monitor: " + monitor.size() + " PIDs, guest: " + before.size() + " before / " + after.size() + " after -> "
                + (agree ? "AGREE" : "DISAGREE (missed: " + missed + ", not in the guest: " + invented + ")"));
        return agree;
    }

    private static void stage(PrintWriter out, String what, long nanos) {
        out.printf("  %-52s %8.2f s%n", what, nanos / 1e9);
    }
}
