package dev.vmsight.benchmarks;

import dev.vmsight.jit.run.GuestSpec;
import dev.vmsight.jit.run.GuestSource;
import dev.vmsight.jit.run.GuestSources;
import dev.vmsight.jit.run.ProgramRuns;
import dev.vmsight.jit.run.RunOutcome;
import dev.vmsight.cli.run.SourceOptions;
import dev.vmsight.jit.CompiledMonitor;
import dev.vmsight.merger.MergedProgram;
import dev.vmsight.merger.ProgramFiles;
import dev.vmsight.vmi.Budget;
import dev.vmsight.vmi.snapshot.Snapshot;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A trained pslist program, compiled, over a live lab guest paused through QMP, read through its
 * shared RAM file with the training process's registers: what {@link PslistBenchmark} and
 * {@link PslistProfile} measure. Named by system properties (run-pslist.sh sets them):
 * {@code vmsight.program} (.vmprog), {@code vmsight.process} (a training START snapshot),
 * {@code vmsight.ram} (the guest's RAM file), {@code vmsight.qmp} (its QMP socket). Closing
 * resumes the guest.
 */
final class LivePslist implements AutoCloseable {

    static final Budget JIT_BUDGET = Budget.of(50_000_000, Duration.ofSeconds(10));
    static final Budget REFERENCE_BUDGET = Budget.of(50_000_000, Duration.ofSeconds(60));

    final MergedProgram program;
    final CompiledMonitor monitor;
    private final GuestSource paused;
    final GuestSource source;

    private LivePslist(MergedProgram program, CompiledMonitor monitor, GuestSource paused, GuestSource source) {
        this.program = program;
        this.monitor = monitor;
        this.paused = paused;
        this.source = source;
    }

    static Path property(String name) {
        String v = System.getProperty(name);
        if (v == null || v.isBlank()) {
            throw new IllegalStateException("set -D" + name + " (see benchmarks/README.md: run-pslist.sh sets it)");
        }
        return Path.of(v);
    }

    /** Pauses the guest; the first runs of both backends must answer the same PIDs, else the guest resumes and this throws. */
    static LivePslist open() {
        MergedProgram program = ProgramFiles.read(property("vmsight.program"));
        CompiledMonitor monitor = ProgramRuns.compile(program);
        GuestSource paused = GuestSources.open(new GuestSpec.RamFile(property("vmsight.ram"), property("vmsight.qmp"), null), 0);
        try {
            GuestSource source;
            try (Snapshot start = Snapshot.open(property("vmsight.process"))) {
                source = ProgramRuns.withTrainingProcess(paused, start.registers());
            }
            LivePslist live = new LivePslist(program, monitor, paused, source);
            RunOutcome jit = live.jit();
            RunOutcome ref = live.reference();
            if (!(jit instanceof RunOutcome.Answered a) || !(ref instanceof RunOutcome.Answered b)
                    || !a.answer().numbers().equals(b.answer().numbers())) {
                throw new IllegalStateException("the monitor does not answer on this guest, or the backends disagree: jit "
                        + jit.toJson() + ", reference " + ref.toJson());
            }
            System.out.println("pslist: " + a.answer().numbers().size() + " PIDs from " + paused.describe()
                    + "; steps per run: jit " + a.steps() + ", reference " + b.steps());
            return live;
        } catch (RuntimeException e) {
            paused.close();
            throw e;
        }
    }

    RunOutcome jit() {
        return ProgramRuns.runJit(program, monitor, source, null, JIT_BUDGET);
    }

    RunOutcome reference() {
        return ProgramRuns.runReference(program, source, null, REFERENCE_BUDGET);
    }

    @Override
    public void close() {
        paused.close();
    }
}
