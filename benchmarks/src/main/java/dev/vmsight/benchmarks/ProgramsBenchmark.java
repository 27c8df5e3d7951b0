package dev.vmsight.benchmarks;

import dev.vmsight.jit.CompiledMonitor;
import dev.vmsight.jit.run.GuestSource;
import dev.vmsight.jit.run.GuestSources;
import dev.vmsight.jit.run.ProgramRuns;
import dev.vmsight.jit.run.RunOutcome;
import dev.vmsight.merger.MergedProgram;
import dev.vmsight.merger.ProgramFiles;
import dev.vmsight.vmi.Budget;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Each of the six trained programs as {@code vmsight run} runs it (placed in the guest's boot, run
 * as init_task, input in its natural form), compiled ({@code jit}) and on the merger's reference
 * executor ({@code reference}), in one JMH run over one source ({@link LivePslist#spec}: an ELF
 * dump in benchmarks/run). Properties: {@code vmsight.program.NAME} (the .vmprog of each program,
 * TrainSix prints them), {@code vmsight.input.getpsfile} (default 1) and {@code
 * vmsight.input.getdrvfile} (a module base of that guest). Setup checks that both backends give
 * the same answer, else the trial stops with both outcomes.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = "-Xmx2g")
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
public class ProgramsBenchmark {

    @Param({"getpid", "gettime", "pslist", "getpsfile", "lsmod", "getdrvfile"})
    public String program;

    private GuestSource source;
    private ProgramRuns.Placed placed;
    private CompiledMonitor monitor;
    private byte[] input;
    private final Budget jitBudget = Budget.of(50_000_000, Duration.ofSeconds(10));
    private final Budget referenceBudget = Budget.of(500_000_000, Duration.ofSeconds(120));

    @Setup(Level.Trial)
    public void setUp() {
        MergedProgram trained = ProgramFiles.read(LivePslist.property("vmsight.program." + program));
        source = GuestSources.open(LivePslist.spec(), 0);
        try {
            placed = ProgramRuns.place(trained, source);
            monitor = ProgramRuns.compile(placed.program());
            String text = switch (program) {
                case "getpsfile" -> System.getProperty("vmsight.input.getpsfile", "1");
                case "getdrvfile" -> LivePslist.property("vmsight.input.getdrvfile").toString();
                default -> null;
            };
            input = ProgramRuns.inputBytes(placed.program(), text);
            RunOutcome j = jit();
            RunOutcome r = reference();
            if (!(j instanceof RunOutcome.Answered a) || !(r instanceof RunOutcome.Answered b) || !a.answer().equals(b.answer())) {
                throw new IllegalStateException(program + " does not answer on " + source.describe() + ", or the backends disagree: jit "
                        + j.toJson() + ", reference " + r.toJson());
            }
            System.err.println(program + (text == null ? "" : " " + text) + ": " + a.toJson().length() + " bytes of answer from "
                    + source.describe() + "; steps per run: jit " + a.steps() + ", reference " + b.steps());
        } catch (RuntimeException e) {
            source.close();
            throw e;
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (source != null) source.close();
    }

    @Benchmark
    public RunOutcome jit() {
        return ProgramRuns.runJit(placed.program(), monitor, placed.attached(), input, jitBudget.start());
    }

    @Benchmark
    public RunOutcome reference() {
        return ProgramRuns.runReference(placed.program(), placed.attached(), input, referenceBudget.start());
    }
}
