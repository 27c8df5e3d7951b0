package dev.vmsight.slicer;

import dev.vmsight.ir.sys.CpuFeatures;
import dev.vmsight.ir.uop.LiftedInstruction;
import dev.vmsight.ir.uop.Loc;
import dev.vmsight.ir.uop.Uop;
import dev.vmsight.ir.uop.UopKind;
import dev.vmsight.tracer.trace.InstructionEvent;
import dev.vmsight.tracer.trace.MemoryAccess;
import dev.vmsight.tracer.trace.TraceFiles;
import dev.vmsight.tracer.trace.TraceHeader;
import dev.vmsight.tracer.trace.TraceReader;
import dev.vmsight.tracer.trace.TraceSink;
import dev.vmsight.tracer.trace.TraceSummary;
import dev.vmsight.tracer.trace.UopExecution;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Measures slicing speed: {@code synthetic FILE UOPS} writes a trace of a summing loop over memory
 * (loads, an add, a store, pointer bump, cmp/jne) with about UOPS µop executions; {@code slice
 * POLICY FILE...} slices trace files and prints the statistics and wall time.
 */
public final class SliceThroughput {
    private SliceThroughput() { }

    public static void main(String[] args) throws Exception {
        if (args[0].equals("synthetic")) {
            synthetic(Path.of(args[1]), Long.parseLong(args[2]));
            return;
        }
        GuardPolicy policy = GuardPolicy.parse(args[1]);
        List<TraceReader> readers = new ArrayList<>();
        for (int i = 2; i < args.length; i++) {
            readers.add(TraceFiles.open(Path.of(args[i])));
        }
        Runtime rt = Runtime.getRuntime();
        var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        long cpu0 = os.getProcessCpuTime();
        long t0 = System.nanoTime();
        SliceResult r = Slicer.slice(readers, policy,
                Slicer.trainingBinary(Path.of(System.getProperty("vmsight.root", ".")), readers.get(0).header().program()));
        double s = (System.nanoTime() - t0) / 1e9;
        double cpu = (os.getProcessCpuTime() - cpu0) / 1e9;
        var st = r.statistics();
        System.out.printf(Locale.ROOT, "%s: %,d of %,d µop executions kept (%.3f%%), %,d/%,d sites, %d rounds, "
                        + "branches %d guards %d followed %d, allocator calls %d, user page faults %d, async handlers %d, disagreements %d, %.2f s wall, %.2f s CPU (process), heap used %,d MiB (max %,d MiB)%n",
                policy, st.keptUopExecutions(), st.uopExecutions(), 100 * st.keptFraction(), st.keptSites(), st.sites(),
                st.closureRounds(), st.branches(), st.guards(), st.followed(), st.allocatorCallsSummarised(), st.userPageFaultsSummarised(), st.asyncHandlersDropped(), r.disagreements().size(), s, cpu,
                (rt.totalMemory() - rt.freeMemory()) >> 20, rt.maxMemory() >> 20);
    }

    private static void synthetic(Path file, long uops) {
        String[] body = {
            "48 8b 02",       // mov rax, [rdx]
            "48 01 c3",       // add rbx, rax
            "48 89 19",       // mov [rcx], rbx
            "48 83 c2 08",    // add rdx, 8
            "48 83 c1 08",    // add rcx, 8
            "48 39 f2",       // cmp rdx, rsi
            "75 ec",          // jne loop (0x1000)
        };
        long rip0 = 0x1000;
        List<LiftedInstruction> lifted = new ArrayList<>();
        long rip = rip0;
        for (String hex : body) {
            LiftedInstruction li = SyntheticTrace.lift(rip, hex);
            lifted.add(li);
            rip += li.instruction().bytes().length;
        }
        int perIteration = lifted.stream().mapToInt(l -> l.uops().size()).sum();
        long iterations = uops / perIteration;
        SyntheticTrace shape = new SyntheticTrace(8, 0);
        TraceHeader h = shape.finish().header();
        long step = 0;
        long executed = 0;
        try (TraceSink sink = TraceFiles.create(file, h)) {
            for (long it = 0; it < iterations; it++) {
                for (LiftedInstruction li : lifted) {
                    List<UopExecution> xs = new ArrayList<>();
                    for (int i = 0; i < li.uops().size(); i++) {
                        Uop u = li.uops().get(i);
                        MemoryAccess[] acc = UopExecution.NO_ACCESSES;
                        if (u.kind() == UopKind.LOAD) {
                            acc = new MemoryAccess[]{SyntheticTrace.read(0x100000 + 8 * it, 8, -1)};
                        } else if (u.kind() == UopKind.STORE) {
                            acc = new MemoryAccess[]{SyntheticTrace.write(0x4000000 + 8 * it, 8, -1)};
                        }
                        xs.add(new UopExecution(i, new long[u.in().length], new long[u.out().length], acc,
                                UopExecution.NO_LOCS, UopExecution.NO_VALUES, false));
                    }
                    executed += xs.size();
                    sink.write(new InstructionEvent(++step, li.instruction().address(), 0, li.instruction().bytes(), xs));
                }
            }
            LiftedInstruction out = SyntheticTrace.lift(0x1020, "48 89 1f");
            List<UopExecution> xs = new ArrayList<>();
            for (int i = 0; i < out.uops().size(); i++) {
                Uop u = out.uops().get(i);
                MemoryAccess[] acc = u.kind() == UopKind.STORE
                        ? new MemoryAccess[]{SyntheticTrace.write(SyntheticTrace.OUT_PA, 8, -1)} : UopExecution.NO_ACCESSES;
                xs.add(new UopExecution(i, new long[u.in().length], new long[u.out().length], acc,
                        UopExecution.NO_LOCS, UopExecution.NO_VALUES, false));
            }
            executed += xs.size();
            sink.write(new InstructionEvent(++step, 0x1020, 0, out.instruction().bytes(), xs));
            sink.finish(new TraceSummary(step, executed, step, 0, lifted.size() + 1, 0, 0, 0, true, new byte[0], true, 0));
        }
        System.out.printf(Locale.ROOT, "%s: %,d instructions, %,d µops%n", file, step, executed);
    }
}
