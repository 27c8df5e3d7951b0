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
import dev.vmsight.jit.run.TaskListOracle;
import dev.vmsight.vmi.Budget;
import dev.vmsight.vmi.snapshot.Snapshot;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

/**
 * A trained pslist program, compiled, over a live lab guest paused through QMP, read through its
 * shared RAM file (or through libvirt, or an ELF dump of it: {@link #spec}) with the training process's registers: what {@link PslistBenchmark} and
 * {@link PslistProfile} measure. Named by system properties (run-pslist.sh sets them):
 * {@code vmsight.program} (.vmprog), {@code vmsight.process} (a training START snapshot),
 * {@code vmsight.ram} (the guest's RAM file), {@code vmsight.qmp} (its QMP socket), {@code
 * vmsight.vmlinux} (the guest kernel's ELF: the hand-written walker's profile comes from its BTF). Closing
 * resumes the guest.
 */
final class LivePslist implements AutoCloseable {

    static final Budget JIT_BUDGET = Budget.of(50_000_000, Duration.ofSeconds(10));
    static final Budget REFERENCE_BUDGET = Budget.of(50_000_000, Duration.ofSeconds(60));

    final MergedProgram program;
    final CompiledMonitor monitor;
    private final GuestSource paused;
    final GuestSource source;
    /** The hand-written walker placed in this guest's boot. */
    private final TaskListOracle.Walk walk;

    private LivePslist(MergedProgram program, CompiledMonitor monitor, GuestSource paused, GuestSource source, TaskListOracle.Walk walk) {
        this.program = program;
        this.monitor = monitor;
        this.paused = paused;
        this.source = source;
        this.walk = walk;
    }

    static Path property(String name) {
        String v = System.getProperty(name);
        if (v == null || v.isBlank()) {
            throw new IllegalStateException("set -D" + name + " (see benchmarks/README.md: run-pslist.sh sets it)");
        }
        return Path.of(v);
    }

    /**
     * The memory source the properties name: {@code vmsight.dump} (an ELF core), {@code vmsight.libvirt} with
     * {@code vmsight.domain} (paused through libvirt; the domain's RAM file when it is local and file-backed,
     * virDomainMemoryPeek with {@code -Dvmsight.peek=true}), else the RAM file and QMP socket.
     */
    static GuestSpec spec() {
        if (System.getProperty("vmsight.dump") != null) return new GuestSpec.Dump(property("vmsight.dump"));
        if (System.getProperty("vmsight.libvirt") != null) {
            return new GuestSpec.Libvirt(System.getProperty("vmsight.libvirt"), property("vmsight.domain").toString(),
                    Boolean.getBoolean("vmsight.peek") ? GuestSpec.LibvirtMemory.PEEK : GuestSpec.LibvirtMemory.AUTO);
        }
        return new GuestSpec.RamFile(property("vmsight.ram"), property("vmsight.qmp"), null);
    }

    /** Pauses the guest; the first runs of both backends must answer the same PIDs, else the guest resumes and this throws. */
    static LivePslist open() {
        MergedProgram program = ProgramFiles.read(property("vmsight.program"));
        CompiledMonitor monitor = ProgramRuns.compile(program);
        GuestSource paused = GuestSources.open(spec(), 0);
        try {
            GuestSource source;
            try (Snapshot start = Snapshot.open(property("vmsight.process"))) {
                source = ProgramRuns.withTrainingProcess(paused, start.registers());
            }
            TaskListOracle.Walk walk = TaskListOracle.ofVmlinux(property("vmsight.vmlinux")).at(program, source);
            LivePslist live = new LivePslist(program, monitor, paused, source, walk);
            RunOutcome jit = live.jit();
            RunOutcome ref = live.reference();
            if (!(jit instanceof RunOutcome.Answered a) || !(ref instanceof RunOutcome.Answered b)
                    || !a.answer().numbers().equals(b.answer().numbers())) {
                throw new IllegalStateException("the monitor does not answer on this guest, or the backends disagree: jit "
                        + jit.toJson() + ", reference " + ref.toJson());
            }
            List<Long> walked = Arrays.stream(live.handWritten()).boxed().toList();
            if (!walked.equals(a.answer().numbers())) {
                throw new IllegalStateException("the hand-written walker and the monitor disagree: tasks list " + walked
                        + ", monitor " + a.answer().numbers());
            }
            System.err.println("pslist: " + a.answer().numbers().size() + " PIDs from " + paused.describe()
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

    /** The hand-written pslist: cold per run, as each monitor run is ({@link TaskListOracle.Walk#pids}). */
    long[] handWritten() {
        return walk.pids(JIT_BUDGET);
    }

    RunOutcome reference() {
        return ProgramRuns.runReference(program, source, null, REFERENCE_BUDGET);
    }

    @Override
    public void close() {
        paused.close();
    }
}
