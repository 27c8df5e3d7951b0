package dev.vmsight.benchmarks;

import dev.vmsight.jit.CompiledMonitor;
import dev.vmsight.jit.MonitorCompiler;
import dev.vmsight.jit.MonitorContext;
import dev.vmsight.jit.MonitorResult;
import dev.vmsight.vmi.Budget;
import dev.vmsight.vmi.phys.PhysicalMemories;
import dev.vmsight.vmi.phys.PhysicalMemory;
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

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Latency of one pslist-shaped monitor run over a RAM file (a raw image mmapped read-only, as the
 * shared memory-backend-file is): the compiled monitor (jit) against the interpreter-driven
 * reference path, in one JMH run so the ratio is comparable. Each run starts cold (fresh page
 * TLB, fresh address space): a live guest's memory may have changed between runs.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class MonitorBenchmark {
    @Param({"100"})
    public int tasks;

    private Path file;
    private PhysicalMemory ram;
    private CompiledMonitor monitor;
    private SyntheticTaskList.Reference reference;
    private Budget budget;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        file = Files.createTempFile("vmsight-bench", ".raw");
        Files.write(file, SyntheticTaskList.image(tasks));
        ram = PhysicalMemories.rawImage(file);
        monitor = MonitorCompiler.compile(SyntheticTaskList.program());
        reference = new SyntheticTaskList.Reference(ram);
        budget = Budget.of(1_000_000, Duration.ofSeconds(5));
        if (jit() != tasks || reference() != tasks) {
            throw new IllegalStateException("the walk did not find " + tasks + " tasks");
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        ram.close();
        Files.deleteIfExists(file);
    }

    @Benchmark
    public long jit() {
        MonitorResult r = monitor.run(MonitorContext.of(SyntheticTaskList.state(), SyntheticTaskList.pages(ram), budget));
        if (r instanceof MonitorResult.Completed c) {
            return c.state()[0];
        }
        throw new IllegalStateException("monitor run failed: " + r);
    }

    @Benchmark
    public long reference() {
        return reference.run();
    }
}
