package dev.vmsight.cli;

import dev.vmsight.cli.CliRun.Run;
import static dev.vmsight.cli.CliRun.vmsight;

import dev.vmsight.ir.sys.CpuFeatures;
import dev.vmsight.ir.sys.SystemMachine;
import dev.vmsight.ir.uop.LiftedInstruction;
import dev.vmsight.ir.uop.Loc;
import dev.vmsight.ir.uop.Uop;
import dev.vmsight.ir.uop.UopKind;
import dev.vmsight.tracer.trace.InstructionEvent;
import dev.vmsight.tracer.trace.MemoryAccess;
import dev.vmsight.tracer.trace.TraceFiles;
import dev.vmsight.tracer.trace.TraceHeader;
import dev.vmsight.tracer.trace.TraceSink;
import dev.vmsight.tracer.trace.TraceSummary;
import dev.vmsight.tracer.trace.UopExecution;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code vmsight slice}: statistics of a small real trace file; bad policy and missing files are one-line errors. */
class SliceCommandTest {
    @TempDir
    Path dir;

    /** mov rcx, 7 (not in the slice) then mov [rdi], rbx into the 8-byte output buffer at pa 0x9000. */
    private Path trace() {
        Path f = dir.resolve("t.trace");
        TraceHeader h = new TraceHeader("synthetic", List.of(), new TraceHeader.GuestIdentity("feedface", "test", "none", 1, 1 << 20),
                CpuFeatures.ALL, new TraceHeader.Marks(0x400000, 0x400010, 0x401000, 0x1000),
                TraceHeader.BufferSpec.none("in"),
                new TraceHeader.BufferSpec("out", 0x70000000L, 8, new long[]{0x9000}, new byte[8]),
                new TraceHeader.StartState(new long[Loc.ARCH_COUNT], 0, 0, 0, 0, 0, 40), Map.of(), 0);
        long uops = 0;
        try (TraceSink sink = TraceFiles.create(f, h)) {
            long step = 0;
            for (String[] ins : new String[][]{{"1000", "48c7c107000000"}, {"1007", "48891f"}}) {
                long rip = Long.parseLong(ins[0], 16);
                LiftedInstruction li = SystemMachine.lift(HexFormat.of().parseHex(ins[1]), rip, CpuFeatures.ALL);
                List<UopExecution> xs = new ArrayList<>();
                for (int i = 0; i < li.uops().size(); i++) {
                    Uop u = li.uops().get(i);
                    MemoryAccess[] a = u.kind() == UopKind.STORE
                            ? new MemoryAccess[]{new MemoryAccess(0x70000000L, 0x9000, -1, 8, 0, true, -1)} : UopExecution.NO_ACCESSES;
                    xs.add(new UopExecution(i, new long[u.in().length], new long[u.out().length], a, UopExecution.NO_LOCS,
                            UopExecution.NO_VALUES, false));
                }
                uops += xs.size();
                sink.write(new InstructionEvent(++step, rip, 0, li.instruction().bytes(), xs));
            }
            sink.finish(new TraceSummary(step, uops, step, 0, 2, 0, 0, 0, true, new byte[8], true, 0));
        }
        return f;
    }

    @Test
    void printsKeptOverTotal() {
        Path t = trace();
        int store = SystemMachine.lift(HexFormat.of().parseHex("48891f"), 0x1007, CpuFeatures.ALL).uops().size();
        int mov = SystemMachine.lift(HexFormat.of().parseHex("48c7c107000000"), 0x1000, CpuFeatures.ALL).uops().size();
        Run r = vmsight("slice", "--policy", "virtuoso", t.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains(store + " of " + (store + mov) + " executions kept"), r.out());
        assertTrue(r.out().contains("policy virtuoso"), r.out());
        assertTrue(r.out().contains("disagreements 0"), r.out());
    }

    @Test
    void badPolicyAndMissingFileAreNamed() {
        Path t = trace();
        Run bad = vmsight("slice", "--policy", "loose", t.toString());
        assertNotEquals(0, bad.exit());
        assertTrue(bad.err().contains("loose"), bad.err());
        Path missing = dir.resolve("nope.trace");
        Run gone = vmsight("slice", missing.toString());
        assertNotEquals(0, gone.exit());
        assertTrue(gone.err().contains("nope.trace"), gone.err());
    }
}
