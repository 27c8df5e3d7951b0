package dev.vmsight.jit.run;

import static dev.vmsight.jit.run.HandBuiltCode.kept;
import static dev.vmsight.jit.run.HandBuiltCode.none;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmsight.ir.sys.CpuFeatures;
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
import dev.vmsight.merger.RunContext;
import dev.vmsight.vmi.Budget;
import dev.vmsight.vmi.phys.PhysicalMemories;
import dev.vmsight.vmi.vcpu.VcpuState;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A dispatch through a function pointer (the program's input here, guest data in a real one):
 * training saw it go to F (whose return came back to the call) and to G (called from elsewhere).
 * A pointer into module space is a hook the run goes past on F; a pointer to other code is an
 * unseen path, not a hook; when F and G both returned there, the trained target is ambiguous.
 */
class HookedDispatchTest {
    static final long CODE = 0x401000, AFTER = CODE + 10, F = CODE + 0x40, G = CODE + 0x80, H = CODE + 0xc0, END = 0x402000,
            DATA = 0x600000, INPUT = DATA + 0x100, STACK = 0x7ffbf000L, MODULE = 0xffffffffc0001000L;

    @TempDir
    Path dir;

    /** main: rax = [INPUT]; call rax; [rdi] = rax; esi = 8; ret.   F: eax = 1; ret.   G: eax = 2; ret.   H: eax = 3; ret. */
    static MergedProgram dispatch(boolean gAlsoReturnsHere) {
        List<ProgramInstruction> code = new ArrayList<>();
        code.add(kept(CODE, 0x48, 0x8b, 0x04, 0x25, 0x00, 0x01, 0x60, 0x00));   // mov rax, [0x600100]
        code.add(kept(CODE + 8, 0xff, 0xd0));                                     // call rax
        code.add(kept(AFTER, 0x48, 0x89, 0x07));                                  // mov [rdi], rax
        code.add(kept(AFTER + 3, 0xbe, 0x08, 0x00, 0x00, 0x00));                  // mov esi, 8
        code.add(none(AFTER + 8, 0xc3));                                          // ret (END)
        for (long[] fn : new long[][] {{F, 1}, {G, 2}, {H, 3}}) {
            code.add(kept(fn[0], 0xb8, (int) fn[1], 0x00, 0x00, 0x00));           // mov eax, n
            code.add(none(fn[0] + 5, 0xc3));                                      // ret
        }
        List<ControlSite> controls = List.of(
                new ControlSite(CODE + 8, ControlKind.INDIRECT_CALL, new long[] {F, G}, ControlRole.BRANCH),
                new ControlSite(AFTER + 8, ControlKind.RETURN, new long[0], ControlRole.RETURN),
                new ControlSite(F + 5, ControlKind.RETURN, new long[] {AFTER}, ControlRole.RETURN),
                new ControlSite(G + 5, ControlKind.RETURN, gAlsoReturnsHere ? new long[] {AFTER, CODE + 0x300} : new long[] {CODE + 0x300},
                        ControlRole.RETURN),
                new ControlSite(H + 5, ControlKind.RETURN, new long[] {CODE + 0x300}, ControlRole.RETURN));
        List<CallFrame> frames = List.of(new CallFrame(CODE + 8, AFTER, new int[] {Loc.GPR0 + 4}));
        return new MergedProgram(MergedProgram.FORMAT_VERSION, "getpid", "00", "test", CpuFeatures.ALL, "strict",
                CODE, END, code, controls, List.of(new LiveIn.Constant(Loc.GPR0 + 7, DATA), new LiveIn.Constant(Loc.GPR0 + 4, STACK + 0x1000)),
                new ProgramInput(INPUT, 8), List.of(new MemoryRange(DATA, new byte[0x200]), new MemoryRange(STACK, new byte[0x1000])),
                new OutputSpec(OutputKind.INT64), new MergedProgram.Statistics(1, 10, 10, 10, 10, code.size(), 1, 0, 0, 0), List.of(), frames);
    }

    private RunContext.Attached attached(MergedProgram p) throws Exception {
        Path ram = dir.resolve("ram");
        Files.write(ram, new byte[1 << 16]);
        GuestSource s = new GuestSource("test", PhysicalMemories.rawImage(ram),
                new VcpuState("test", Map.of("cr3", 0x1000L, "cr4", 0x20L, "efer", 0xd01L)), false, () -> { });
        return ProgramRuns.attach(p, s);
    }

    private static byte[] pointer(long target) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(target).array();
    }

    private static Budget budget() { return Budget.of(100_000, Duration.ofSeconds(10)); }

    @Test
    void aPointerIntoModuleSpaceIsAHookTheRunGoesPastOnTheTrainedTarget() throws Exception {
        MergedProgram p = dispatch(false);
        RunContext.Attached a = attached(p);
        HookedDispatch hooks = new HookedDispatch(p);
        RunOutcome clean = ProgramRuns.runJit(p, ProgramRuns.compile(p), a, pointer(F), budget());
        assertEquals(List.of(1L), assertInstanceOf(RunOutcome.Answered.class, clean, clean.toText()).answer().numbers());

        RunOutcome hooked = ProgramRuns.runJit(p, ProgramRuns.compile(p), a, pointer(MODULE), budget());
        RunOutcome.UnseenPath u = assertInstanceOf(RunOutcome.UnseenPath.class, hooked, hooked.toText());
        assertEquals(MODULE, u.observed());
        assertTrue(hooks.isHook(u.site(), u.observed()));
        HookedDispatch.Bypassed past = hooks.runPast(a, pointer(MODULE), budget());
        assertEquals(List.of(1L), assertInstanceOf(RunOutcome.Answered.class, past.outcome(), past.outcome().toText()).answer().numbers(),
                "F's answer: F is the trained target whose return came back to the call");
        assertEquals(List.of(new HookedDispatch.Hook(CODE + 8, MODULE, AFTER, F)), past.hooks());
    }

    @Test
    void aPointerToOtherCodeIsAnUnseenPathNotAHook() throws Exception {
        MergedProgram p = dispatch(false);
        RunContext.Attached a = attached(p);
        HookedDispatch hooks = new HookedDispatch(p);
        RunOutcome o = ProgramRuns.runJit(p, ProgramRuns.compile(p), a, pointer(H), budget());
        RunOutcome.UnseenPath u = assertInstanceOf(RunOutcome.UnseenPath.class, o, o.toText());
        assertTrue(hooks.isIndirect(u.site()));
        assertFalse(hooks.isHook(u.site(), u.observed()), "H is no module code");
        HookedDispatch.Bypassed past = hooks.runPast(a, pointer(H), budget());
        assertInstanceOf(RunOutcome.UnseenPath.class, past.outcome());
        assertEquals(List.of(), past.hooks());
    }

    @Test
    void whenTwoTrainedTargetsReturnedThereTheHookStaysUnresolved() throws Exception {
        MergedProgram p = dispatch(true);
        RunContext.Attached a = attached(p);
        HookedDispatch.Bypassed past = new HookedDispatch(p).runPast(a, pointer(MODULE), budget());
        assertInstanceOf(RunOutcome.UnseenPath.class, past.outcome(), "no guess between F and G");
        assertEquals(List.of(new HookedDispatch.Hook(CODE + 8, MODULE, AFTER, -1)), past.hooks());
    }
}
