package dev.vmsight.jit.run;

import static dev.vmsight.jit.run.HandBuiltCode.bytes;
import static dev.vmsight.jit.run.HandBuiltCode.call;
import static dev.vmsight.jit.run.HandBuiltCode.kept;
import static dev.vmsight.jit.run.HandBuiltCode.none;

import static org.junit.jupiter.api.Assertions.*;

import dev.vmsight.ir.sys.CpuFeatures;
import dev.vmsight.ir.sys.SystemMachine;
import dev.vmsight.ir.uop.Loc;
import dev.vmsight.merger.MergedProgram;
import dev.vmsight.merger.MergedProgram.CallFrame;
import dev.vmsight.merger.MergedProgram.ControlKind;
import dev.vmsight.merger.MergedProgram.ControlRole;
import dev.vmsight.merger.MergedProgram.ControlSite;
import dev.vmsight.merger.MergedProgram.LiveIn;
import dev.vmsight.merger.MergedProgram.MemoryRange;
import dev.vmsight.merger.MergedProgram.OutputKind;
import dev.vmsight.merger.MergedProgram.OutputSpec;
import dev.vmsight.merger.MergedProgram.ProgramInput;
import dev.vmsight.merger.MergedProgram.ProgramInstruction;
import dev.vmsight.vmi.Budget;
import dev.vmsight.vmi.phys.PhysicalMemories;
import dev.vmsight.vmi.vcpu.VcpuState;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Merged programs with structured calls (frames, SKIP, RETURN) built by hand from real x86 bytes,
 * run by the JIT (through {@link ProgramRuns#toJit}) and by merger's reference executor: the same
 * answer, and the same failure when the frame stack overflows.
 */
class ProgramRunsFramesTest {

    static final long CODE = 0x401000, F = CODE + 0x40, H = CODE + 0x80, G = CODE + 0xc0, END = 0x402000,
            DATA = 0x600000;
    static final int RBX = Loc.GPR0 + 3, RSP = Loc.GPR0 + 4;

    @TempDir
    Path dir;





    /**
     * main: ebx = 5; call f; eax += ebx; call g (SKIP: g keeps nothing; it has a frame the run must
     * not open); eax += 1; [rdi] = rax; esi = 8; ret (no frame open: END).
     * f: ebx = 100; eax = ebx + 7; call h; eax += ebx; ret.   h: ebx = 1000; eax += ebx; ret.
     * Frames restore rbx (and rsp), so the answer is 1000 + 107 + 100 + 5 + 1 = 1213; a run that
     * opened g's frame would return to its return address once more and answer 1214.
     */
    static MergedProgram nestedCalls() {
        List<ProgramInstruction> code = new ArrayList<>();
        code.add(kept(CODE, 0xbb, 0x05, 0x00, 0x00, 0x00));              // mov ebx, 5
        code.add(none(CODE + 5, call(CODE + 5, F)));                      // call f
        code.add(kept(CODE + 10, 0x01, 0xd8));                            // add eax, ebx
        code.add(none(CODE + 12, call(CODE + 12, G)));                    // call g (skipped)
        code.add(kept(CODE + 17, 0x83, 0xc0, 0x01));                      // add eax, 1
        code.add(kept(CODE + 20, 0x48, 0x89, 0x07));                      // mov [rdi], rax
        code.add(kept(CODE + 23, 0xbe, 0x08, 0x00, 0x00, 0x00));          // mov esi, 8
        code.add(none(CODE + 28, 0xc3));                                  // ret
        code.add(kept(F, 0xbb, 0x64, 0x00, 0x00, 0x00));                  // mov ebx, 100
        code.add(kept(F + 5, 0x89, 0xd8));                                // mov eax, ebx
        code.add(kept(F + 7, 0x83, 0xc0, 0x07));                          // add eax, 7
        code.add(none(F + 10, call(F + 10, H)));                          // call h
        code.add(kept(F + 15, 0x01, 0xd8));                               // add eax, ebx
        code.add(none(F + 17, 0xc3));                                     // ret
        code.add(kept(H, 0xbb, 0xe8, 0x03, 0x00, 0x00));                  // mov ebx, 1000
        code.add(kept(H + 5, 0x01, 0xd8));                                // add eax, ebx
        code.add(none(H + 7, 0xc3));                                      // ret
        List<ControlSite> controls = List.of(
                new ControlSite(CODE + 5, ControlKind.DIRECT, new long[] {F}, ControlRole.FOLLOW),
                new ControlSite(CODE + 12, ControlKind.DIRECT, new long[] {CODE + 17}, ControlRole.SKIP),
                new ControlSite(CODE + 28, ControlKind.RETURN, new long[0], ControlRole.RETURN),
                new ControlSite(F + 10, ControlKind.DIRECT, new long[] {H}, ControlRole.FOLLOW),
                new ControlSite(F + 17, ControlKind.RETURN, new long[] {CODE + 10}, ControlRole.RETURN),
                new ControlSite(H + 7, ControlKind.RETURN, new long[] {F + 15}, ControlRole.RETURN));
        List<CallFrame> frames = List.of(
                new CallFrame(CODE + 5, CODE + 10, new int[] {RBX, RSP}),
                new CallFrame(CODE + 12, CODE + 17, new int[] {RBX}),
                new CallFrame(F + 10, F + 15, new int[] {RBX, RSP}));
        return program(code, controls, frames);
    }

    /** r: call r (forever): the frame stack overflows at the call. */
    static MergedProgram runawayRecursion() {
        return program(List.of(none(CODE, call(CODE, CODE))),
                List.of(new ControlSite(CODE, ControlKind.DIRECT, new long[] {CODE}, ControlRole.FOLLOW)),
                List.of(new CallFrame(CODE, CODE + 5, new int[] {RBX})));
    }

    private static MergedProgram program(List<ProgramInstruction> code, List<ControlSite> controls, List<CallFrame> frames) {
        return new MergedProgram(MergedProgram.FORMAT_VERSION, "getpid", "00", "test", CpuFeatures.ALL, "strict",
                CODE, END, code, controls, List.of(new LiveIn.Constant(Loc.GPR0 + 7, DATA), new LiveIn.Constant(RSP, 0x7ffc0000L)),
                ProgramInput.NONE, List.of(new MemoryRange(DATA, new byte[8])), new OutputSpec(OutputKind.INT64),
                new MergedProgram.Statistics(1, 17, 17, 17, 17, code.size(), 4, 0, 0, 2), List.of(), frames);
    }

    private GuestSource source() throws Exception {
        Path ram = dir.resolve("ram");
        Files.write(ram, new byte[1 << 16]);
        return new GuestSource("test", PhysicalMemories.rawImage(ram),
                new VcpuState("test", Map.of("cr3", 0x1000L, "cr4", 0x20L, "efer", 0xd01L)), false, () -> { });
    }

    private static Budget budget() { return Budget.of(100_000, Duration.ofSeconds(10)); }

    @Test
    void nestedCallsAnswerTheSameInTheJitAndTheReferenceExecutor() throws Exception {
        MergedProgram p = nestedCalls();
        try (GuestSource s = source()) {
            RunOutcome jit = ProgramRuns.runJit(p, ProgramRuns.compile(p), s, null, budget());
            RunOutcome ref = ProgramRuns.runReference(p, s, null, budget());
            assertEquals(List.of(1213L), assertInstanceOf(RunOutcome.Answered.class, jit, jit.toText()).answer().numbers());
            assertEquals(List.of(1213L), assertInstanceOf(RunOutcome.Answered.class, ref, ref.toText()).answer().numbers());
        }
    }

    @Test
    void theAdapterOpensNoFrameAtASkippedCall() {
        var jit = ProgramRuns.toJit(nestedCalls());
        var byAddress = new java.util.HashMap<Long, dev.vmsight.jit.JitProgram.Instruction>();
        jit.instructions().forEach(i -> byAddress.put(i.address(), i));
        assertNull(byAddress.get(CODE + 12).push(), "SKIP call");
        assertEquals(new dev.vmsight.jit.JitProgram.Control.Fixed(CODE + 17), byAddress.get(CODE + 12).control());
        assertEquals(CODE + 10, byAddress.get(CODE + 5).push().returnAddress());
        assertArrayEquals(new int[] {RBX, RSP}, byAddress.get(F + 10).push().restoredLocs());
        assertEquals(new dev.vmsight.jit.JitProgram.Control.Return(List.of(F + 15)), byAddress.get(H + 7).control());
        assertEquals(new dev.vmsight.jit.JitProgram.Control.Return(List.of()), byAddress.get(CODE + 28).control());
    }

    @Test
    void runawayRecursionFailsWithFrameDepthAtTheCallInBoth() throws Exception {
        MergedProgram p = runawayRecursion();
        try (GuestSource s = source()) {
            RunOutcome jit = ProgramRuns.runJit(p, ProgramRuns.compile(p), s, null, budget());
            RunOutcome ref = ProgramRuns.runReference(p, s, null, budget());
            RunOutcome.Failed j = assertInstanceOf(RunOutcome.Failed.class, jit, jit.toText());
            RunOutcome.Failed r = assertInstanceOf(RunOutcome.Failed.class, ref, ref.toText());
            assertEquals("FRAME_DEPTH", r.kind(), r.toText());
            assertEquals(r.kind(), j.kind(), j.toText());
            assertEquals(CODE, r.site(), r.toText());
            assertEquals(r.site(), j.site(), j.toText());
        }
    }
}
