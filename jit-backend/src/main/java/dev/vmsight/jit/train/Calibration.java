package dev.vmsight.jit.train;

import dev.vmsight.jit.CompiledMonitor;
import dev.vmsight.jit.JitProgram;
import dev.vmsight.jit.MonitorCompiler;
import dev.vmsight.jit.run.GuestSource;
import dev.vmsight.jit.run.GuestSources;
import dev.vmsight.jit.run.ProgramRuns;
import dev.vmsight.merger.MergedProgram;
import dev.vmsight.tracer.capture.TrainingCorpus;
import dev.vmsight.tracer.trace.TraceFiles;
import dev.vmsight.tracer.trace.TraceReader;
import dev.vmsight.vmi.Budget;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Which guards decide on the run's context, found by running the program the way a monitor runs
 * (as init_task or the vCPU's task, with arena allocations and replayed values) on training's own
 * START snapshots: the guest's memory there is exactly what training ran on, so a guard that goes
 * another way can only be reacting to what the monitor's context changed (the task it runs as: the
 * idle task's files are shared, the trainer's were not). The slicer's taint pass finds most of
 * these from the trace ({@code ContextTaint}); this finds the rest by experiment. Every guard
 * reports and follows its trained way (a monitor compiled with {@code REPORT_AND_FOLLOW}), so one
 * run finds them all.
 */
final class Calibration {
    private static final Budget BUDGET = Budget.of(200_000_000, Duration.ofSeconds(60));

    private Calibration() { }

    /** The guards that went another way on some snapshot, and how each run ended (it should answer). */
    record Result(Set<Long> contextGuards, List<String> runs) { }

    static Result run(MergedProgram program, List<TrainingCorpus.Entry> corpus) {
        CompiledMonitor reporting = MonitorCompiler.compile(ProgramRuns.toJit(program, JitProgram.OnUnseen.REPORT_AND_FOLLOW));
        Set<Long> guards = new HashSet<>();
        for (MergedProgram.ControlSite c : program.controls()) {
            if (c.role() == MergedProgram.ControlRole.GUARD) {
                guards.add(c.address());
            }
        }
        Set<Long> found = new TreeSet<>(Long::compareUnsigned);
        List<String> runs = new java.util.ArrayList<>();
        for (TrainingCorpus.Entry e : corpus) {
            byte[] input;
            try (TraceReader t = TraceFiles.open(e.trace())) {
                input = t.header().input().bytes();
            }
            try (GuestSource s = GuestSources.snapshot(e.snapshot())) {
                ProgramRuns.Reported r = ProgramRuns.runJitReporting(program, reporting, ProgramRuns.attach(program, s), input, BUDGET);
                for (long site : r.unseenSites()) {
                    if (guards.contains(site)) {
                        found.add(site);
                    }
                }
                runs.add(e.snapshot().getFileName() + ": " + r.outcome().toText().lines().findFirst().orElse(""));
            }
        }
        return new Result(found, runs);
    }
}
