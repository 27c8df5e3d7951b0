package dev.vmsight.slicer;

import dev.vmsight.ir.sys.CpuFeatures;
import dev.vmsight.ir.sys.SystemMachine;
import dev.vmsight.ir.uop.LiftedInstruction;
import dev.vmsight.ir.uop.Loc;
import dev.vmsight.ir.uop.Uop;
import dev.vmsight.ir.uop.UopKind;
import dev.vmsight.tracer.trace.DeliveryEvent;
import dev.vmsight.tracer.trace.InMemoryTrace;
import dev.vmsight.tracer.trace.InstructionEvent;
import dev.vmsight.tracer.trace.MemoryAccess;
import dev.vmsight.tracer.trace.TraceHeader;
import dev.vmsight.tracer.trace.TraceSummary;
import dev.vmsight.tracer.trace.TranslationEvent;
import dev.vmsight.tracer.trace.UopExecution;

import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * Builds small traces from real x86 bytes: each instruction is lifted by the real ir lifter and
 * every µop recorded as executed (values are zero: the slicer reads structure, not values); the
 * memory accesses given are handed, in order, to the µops that access memory.
 */
final class SyntheticTrace {
    static final long END = 0x401000;
    static final long OUT_VA = 0x7000_0000L;
    static final long OUT_PA = 0x9000;
    static final long IN_VA = 0x7100_0000L;
    static final long IN_PA = 0xA000;

    private final InMemoryTrace trace;
    private long step;
    private long uops;
    private int cpl;

    SyntheticTrace(int outputLength, int inputLength) {
        this(outputLength, inputLength, Map.of());
    }

    /** The context the DATA guard policy needs: per-CPU symbols and the task_struct size (values arbitrary). */
    static Map<String, String> dataPolicyContext() {
        return Map.of(dev.vmsight.tracer.capture.KernelSymbols.KEY + "current_task", "1fbc0",
                dev.vmsight.tracer.capture.KernelSymbols.KEY + "__per_cpu_end", "32000",
                dev.vmsight.tracer.capture.KernelSymbols.TASK_STRUCT_SIZE, "9472");
    }

    SyntheticTrace(int outputLength, int inputLength, Map<String, String> context) {
        long[] arch = new long[Loc.ARCH_COUNT];
        TraceHeader header = new TraceHeader("synthetic", List.of(),
                new TraceHeader.GuestIdentity("feedface", "test", "none", 1, 1 << 20), CpuFeatures.ALL,
                new TraceHeader.Marks(0x400000, 0x400010, END, 0x1000),
                new TraceHeader.BufferSpec("in", IN_VA, inputLength, inputLength == 0 ? new long[0] : new long[]{IN_PA},
                        new byte[inputLength]),
                new TraceHeader.BufferSpec("out", OUT_VA, outputLength, new long[]{OUT_PA}, new byte[outputLength]),
                new TraceHeader.StartState(arch, 0, 0, 0, 0, 0, 40), context, 0);
        trace = new InMemoryTrace(header);
    }

    /** The kernel's direct map: kernel-half linear addresses of physical memory. */
    static final long DIRECT_MAP = 0xffff888000000000L;

    /** A kernel-half data access of {@code size} bytes at physical {@code pa} through translation {@code tr}. */
    static MemoryAccess read(long pa, int size, int tr) { return new MemoryAccess(DIRECT_MAP + pa, pa, -1, size, 0, false, tr); }

    static MemoryAccess write(long pa, int size, int tr) { return new MemoryAccess(DIRECT_MAP + pa, pa, -1, size, 0, true, tr); }

    /** A user-half access (the training process's own addresses). */
    static MemoryAccess userRead(long va, long pa, int size, int tr) { return new MemoryAccess(va, pa, -1, size, 0, false, tr); }

    static LiftedInstruction lift(long rip, String hex) {
        return SystemMachine.lift(HexFormat.of().parseHex(hex.replace(" ", "")), rip, CpuFeatures.ALL);
    }

    /** Later instructions run at CPL 3 (the training program's own code). */
    SyntheticTrace user() {
        cpl = 3;
        return this;
    }

    /** Executes every µop of the instruction at {@code rip} (cpl 0 unless {@link #user()}); returns it lifted. */
    LiftedInstruction ins(long rip, String hex, MemoryAccess... accesses) {
        return ins(rip, hex, Integer.MAX_VALUE, accesses);
    }

    /** Executes µops 0..last (a taken EXIT_IF ends an instruction early). */
    LiftedInstruction ins(long rip, String hex, int last, MemoryAccess... accesses) {
        LiftedInstruction li = lift(rip, hex);
        List<UopExecution> xs = new ArrayList<>();
        int next = 0;
        for (int i = 0; i < li.uops().size() && i <= last; i++) {
            Uop u = li.uops().get(i);
            MemoryAccess[] mine = UopExecution.NO_ACCESSES;
            if (u.kind() == UopKind.LOAD || u.kind() == UopKind.STORE) {
                mine = new MemoryAccess[]{accesses[next++]};
            } else if (u.kind().has(UopKind.Flag.OPAQUE)) {
                mine = java.util.Arrays.copyOfRange(accesses, next, accesses.length);
                next = accesses.length;
            }
            xs.add(new UopExecution(i, new long[u.in().length], new long[u.out().length], mine,
                    UopExecution.NO_LOCS, UopExecution.NO_VALUES, false));
        }
        if (next != accesses.length) {
            throw new IllegalArgumentException(hex + ": " + accesses.length + " accesses for " + next + " memory µops");
        }
        uops += xs.size();
        trace.write(new InstructionEvent(++step, rip, cpl, li.instruction().bytes(), xs));
        return li;
    }

    void translation(int id, long... pteAddresses) {
        trace.write(new TranslationEvent(step, id, 0x1000, 0x7000_0000L, 4096, 0, pteAddresses, new long[pteAddresses.length]));
    }

    void delivery(int vector, int[] readLocs, int[] writtenLocs, MemoryAccess... accesses) {
        delivery(vector, readLocs, writtenLocs, new long[writtenLocs.length], accesses);
    }

    void delivery(int vector, int[] readLocs, int[] writtenLocs, long[] writtenValues, MemoryAccess... accesses) {
        trace.write(new DeliveryEvent(step, vector, -1, 0, 0xffffffff81000000L, "test", accesses, readLocs, writtenLocs,
                writtenValues));
    }

    InMemoryTrace finish() {
        trace.finish(new TraceSummary(step, uops, step, 0, 0, 0, 0, 0, true, new byte[0], true, 0));
        return trace;
    }
}
