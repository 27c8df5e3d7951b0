package dev.vmsight.benchmarks;

import dev.vmsight.cli.run.GuestSource;
import dev.vmsight.cli.run.GuestSources;
import dev.vmsight.cli.run.ProgramRuns;
import dev.vmsight.cli.run.RunOutcome;
import dev.vmsight.cli.run.SourceOptions;
import dev.vmsight.jit.CompiledMonitor;
import dev.vmsight.merger.MergedProgram;
import dev.vmsight.merger.ProgramFiles;
import dev.vmsight.vmi.Budget;
import dev.vmsight.vmi.snapshot.Snapshot;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The trained pslist monitor against a live lab guest through its shared RAM file: the compiled
 * monitor (jit) and the merger's reference executor in one JMH run. The guest is paused through
 * QMP for the whole trial (memory and registers of one moment) and resumed at teardown. Not part
 * of CI; it needs a guest and a trained program (see benchmarks/README.md):
 *
 * <pre>
 * ./vmsight demo                                   # trains pslist: .lab/programs/pslist-strict-3.vmprog
 * ./vmsight lab boot --name bench --procs 100
 * java -Dvmsight.program=.lab/programs/pslist-strict-3.vmprog \
 *      -Dvmsight.process=.lab/corpus/&lt;kernel&gt;/pslist/run-0.snapshot \
 *      -Dvmsight.ram=/dev/shm/vmsight-bench.ram -Dvmsight.qmp=.lab/run/bench/qmp.sock \
 *      -jar benchmarks/target/benchmarks.jar PslistBenchmark
 * ./vmsight lab stop --name bench
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = "-Xmx2g")
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
public class PslistBenchmark {

    private MergedProgram program;
    private CompiledMonitor monitor;
    private GuestSource paused;
    private GuestSource source;

    private static Path property(String name) {
        String v = System.getProperty(name);
        if (v == null) {
            throw new IllegalStateException("set -D" + name + " (see PslistBenchmark's javadoc: the benchmark runs against a lab guest)");
        }
        return Path.of(v);
    }

    @Setup(Level.Trial)
    public void setUp() {
        program = ProgramFiles.read(property("vmsight.program"));
        monitor = ProgramRuns.compile(program);
        paused = GuestSources.open(SourceOptions.shm(property("vmsight.ram"), property("vmsight.qmp"), null));
        try (Snapshot start = Snapshot.open(property("vmsight.process"))) {
            source = ProgramRuns.withTrainingProcess(paused, start.registers());
        }
        RunOutcome jit = jitRun();
        RunOutcome ref = referenceRun();
        if (!(jit instanceof RunOutcome.Answered a) || !(ref instanceof RunOutcome.Answered b)
                || !a.answer().numbers().equals(b.answer().numbers())) {
            paused.close();
            throw new IllegalStateException("the monitor does not answer on this guest, or the backends disagree: jit "
                    + jit.toJson() + ", reference " + ref.toJson());
        }
        System.out.println("pslist: " + a.answer().numbers().size() + " PIDs from " + paused.describe());
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (paused != null) paused.close();
    }

    private RunOutcome jitRun() {
        return ProgramRuns.runJit(program, monitor, source, null, Budget.of(50_000_000, Duration.ofSeconds(10)));
    }

    private RunOutcome referenceRun() {
        return ProgramRuns.runReference(program, source, null, Budget.of(50_000_000, Duration.ofSeconds(60)));
    }

    @Benchmark
    public RunOutcome jit() {
        return jitRun();
    }

    @Benchmark
    public RunOutcome reference() {
        return referenceRun();
    }
}
