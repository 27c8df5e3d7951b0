package dev.vmsight.benchmarks;

import dev.vmsight.ir.interp.CodeSource;
import dev.vmsight.ir.interp.MachineState;
import dev.vmsight.ir.uop.Loc;
import dev.vmsight.jit.CompiledMonitor;
import dev.vmsight.jit.JitProgram;
import dev.vmsight.jit.MonitorCompiler;
import dev.vmsight.jit.MonitorContext;
import dev.vmsight.jit.MonitorResult;
import dev.vmsight.jit.PageSource;
import dev.vmsight.vmi.Budget;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;

/**
 * Compute-bound code, compiled against interpreted, in one JMH run: one pass of GuestPrograms'
 * "loops" program (checksum of 256 bytes, strlen of 200, memcpy of 64 qwords: about 2,900
 * instructions), ended at its final jmp. Both start from the same state and memory each time;
 * the checksum in eax must be equal.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class CompiledCodeBenchmark {
    private GuestPrograms.Setup setup;
    private long end;
    private CompiledMonitor monitor;
    private long[] initial;
    private byte[][] data;
    private Budget budget;

    @Setup
    public void setUp() {
        setup = GuestPrograms.load(GuestPrograms.LOOPS);
        end = GuestPrograms.CODE + HexFormat.of().parseHex(GuestPrograms.LOOPS).length - 2;   // the final jmp outer
        monitor = MonitorCompiler.compile(JitProgram.fromCode(CodeSource.decoding(setup.memory()), GuestPrograms.CODE, end));
        initial = new long[Loc.COUNT];
        for (int l = 0; l < Loc.ARCH_COUNT; l++) {
            initial[l] = setup.state().get(l);
        }
        data = new byte[2][4096];
        for (int p = 0; p < 2; p++) {
            for (int i = 0; i < 4096; i++) {
                data[p][i] = (byte) setup.memory().read(GuestPrograms.DATA + p * 4096L + i, 1);
            }
        }
        budget = Budget.of(10_000_000, Duration.ofSeconds(5));
        if (jit() != interpreter()) {
            throw new IllegalStateException("compiled and interpreted checksums differ");
        }
    }

    @Benchmark
    public long jit() {
        PageSource pages = a -> ByteBuffer.wrap(data[(int) ((a - GuestPrograms.DATA) >>> 12)]).asReadOnlyBuffer();
        MonitorResult r = monitor.run(MonitorContext.of(initial, pages, budget));
        if (r instanceof MonitorResult.Completed c) {
            return c.state()[0];
        }
        throw new IllegalStateException("compiled run failed: " + r);
    }

    @Benchmark
    public long interpreter() {
        MachineState s = setup.state().copy();
        setup.interpreter().run(s, end, 1_000_000);
        if (s.rip() != end) {
            throw new IllegalStateException("interpreted run stopped at 0x" + Long.toHexString(s.rip()));
        }
        return s.gpr(0);
    }
}
