package dev.vmsight.benchmarks;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * µop interpreter speed in guest instructions per second (the reported ops/s), without
 * recording: straight-line code (one 64-instruction block) and loop-heavy code (checksum,
 * strlen, memcpy loops: short blocks, taken branches).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class InterpreterBenchmark {
    static final int INSTRUCTIONS = 100_000;

    @Param({"straight", "loops"})
    public String program;

    private GuestPrograms.Setup setup;

    @Setup
    public void setUp() {
        setup = GuestPrograms.load(GuestPrograms.program(program));
    }

    @Benchmark
    @OperationsPerInvocation(INSTRUCTIONS)
    public long interpret() {
        long n = setup.interpreter().run(setup.state(), -1, INSTRUCTIONS);
        if (n != INSTRUCTIONS) {
            throw new IllegalStateException("ran " + n + " instructions, expected " + INSTRUCTIONS);
        }
        return setup.state().gpr(0);
    }
}
