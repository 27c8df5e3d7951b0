package dev.vmsight.tracer.capture;

import dev.vmsight.ir.interp.Environment;
import dev.vmsight.ir.interp.MachineState;
import dev.vmsight.ir.sys.PhysMem;
import dev.vmsight.ir.sys.Step;
import dev.vmsight.ir.sys.SystemMachine;
import dev.vmsight.ir.sys.SystemTables;
import dev.vmsight.tracer.lockstep.LearnedValue;
import dev.vmsight.tracer.trace.TraceFiles;
import dev.vmsight.tracer.trace.TraceHeader;
import dev.vmsight.tracer.trace.TraceSink;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;

/** The replay stages and trace sinks the tracer uses. */
final class ReplayStages {
    private ReplayStages() { }

    static ReplayStage standard() {
        return ReplayStages::bare;
    }

    static TraceSink traceFile(Path file, TraceHeader header) {
        return TraceFiles.create(file, header);
    }

    /** INTERIM (until the recording replay lands): SystemMachine steps START..END, no events written. */
    static ReplayStage.Outcome bare(ReplayStage.Request r, TraceSink sink, ReplayStage.Progress progress) {
        MachineState state = new MachineState();
        for (int i = 0; i < r.start().architectural().length; i++) {
            state.set(i, r.start().architectural()[i]);
        }
        TraceHeader.StartState s = r.start();
        Deque<LearnedValue> learned = new ArrayDeque<>(r.learned());
        long[] step = {0};
        Environment env = new Environment() {
            long[] next(String kind) {
                LearnedValue v = learned.peekFirst();
                if (v == null || v.step() != step[0] || !v.kind().equals(kind)) {
                    throw new ReplayStage.NeedsLongerPrefix(step[0], kind + " at step " + step[0] + " was not learned", null);
                }
                return learned.removeFirst().values();
            }
            @Override public long rdtsc() { return next("RDTSC")[0]; }
            @Override public long[] cpuid(long leaf, long subleaf) { return next("CPUID"); }
            @Override public long rdmsr(long msr) { return next("RDMSR")[0]; }
            @Override public long portIn(long port, int size) { return next("PORT_IN")[0]; }
            @Override public long rdrand(int size) { throw new ReplayStage.NeedsLongerPrefix(step[0], "rdrand", null); }
        };
        PhysMem ram = PhysMem.copyOnWrite(r.ram());
        SystemMachine m = new SystemMachine(state, ram, env, new SystemTables(s.gdtBase(), s.gdtLimit(), s.idtBase(), s.idtLimit(),
                s.tssBase()), s.physicalAddressBits());
        m.setBitCountFeatures(r.features().bmi1(), r.features().lzcnt());
        long t0 = System.nanoTime(), kernel = 0, deliveries = 0;
        while (!(state.rip() == r.markOut() && state.get(dev.vmsight.ir.uop.Loc.CR3) == r.cr3())) {
            if (step[0] >= r.maxInstructions()) {
                throw new TraceBudgetException("replay budget of " + r.maxInstructions() + " instructions ran out at rip 0x"
                        + Long.toHexString(state.rip()));
            }
            step[0]++;
            if (state.cpl() == 0) kernel++;
            Step st = m.step();
            deliveries += st.deliveries().size();
        }
        long buf = state.gpr(7), len = state.gpr(6);
        byte[] out = new byte[(int) len];
        for (int i = 0; i < len; i++) out[i] = (byte) m.readVirtual(buf + i, 1);
        return new ReplayStage.Outcome(step[0], 0, kernel, step[0] - kernel, 0, deliveries, 0, r.learned().size(), true, out,
                (System.nanoTime() - t0) / 1e9);
    }
}
