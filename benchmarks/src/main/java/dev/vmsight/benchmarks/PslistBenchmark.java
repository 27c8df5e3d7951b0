package dev.vmsight.benchmarks;

import dev.vmsight.jit.run.RunOutcome;
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
 * QMP for the whole trial (memory and registers of one moment) and resumed at teardown; setup
 * checks that both backends and the hand-written walker of the tasks list (the LibVMI-style
 * floor: {@code handWritten}) answer the same PIDs. Not part of CI; it needs a guest and a trained
 * program: {@code benchmarks/run-pslist.sh} trains (if needed), boots a 100-sleeper guest, runs
 * this and stops the guest (benchmarks/README.md).
 *
 * <p>The reference executor takes tens of milliseconds per run: JMH's sample mode with 2 s
 * iterations still collects hundreds of its samples, so the iteration counts suit both.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = "-Xmx2g")
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
public class PslistBenchmark {

    private LivePslist live;

    @Setup(Level.Trial)
    public void setUp() {
        live = LivePslist.open();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (live != null) live.close();
    }

    @Benchmark
    public RunOutcome jit() {
        return live.jit();
    }

    /** The hand-written tasks-list walker over the same memory: the floor a trained monitor is held against. */
    @Benchmark
    public long[] handWritten() {
        return live.handWritten();
    }

    @Benchmark
    public RunOutcome reference() {
        return live.reference();
    }
}
