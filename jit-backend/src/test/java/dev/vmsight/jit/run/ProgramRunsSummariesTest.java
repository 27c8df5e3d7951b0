package dev.vmsight.jit.run;

import static dev.vmsight.jit.run.HandBuiltCode.bytes;
import static dev.vmsight.jit.run.HandBuiltCode.call;
import static dev.vmsight.jit.run.HandBuiltCode.kept;
import static dev.vmsight.jit.run.HandBuiltCode.none;

import static org.junit.jupiter.api.Assertions.*;

import dev.vmsight.ir.sys.CpuFeatures;
import dev.vmsight.ir.sys.SystemMachine;
import dev.vmsight.ir.uop.Loc;
import dev.vmsight.jit.CompiledMonitor;
import dev.vmsight.jit.JitProgram;
import dev.vmsight.merger.MergedProgram;
import dev.vmsight.merger.MergedProgram.CallFrame;
import dev.vmsight.merger.MergedProgram.CallSummary;
import dev.vmsight.merger.MergedProgram.ControlKind;
import dev.vmsight.merger.MergedProgram.ControlRole;
import dev.vmsight.merger.MergedProgram.ControlSite;
import dev.vmsight.merger.MergedProgram.LiveIn;
import dev.vmsight.merger.MergedProgram.MemoryRange;
import dev.vmsight.merger.MergedProgram.OutputKind;
import dev.vmsight.merger.MergedProgram.OutputSpec;
import dev.vmsight.merger.MergedProgram.ProgramInput;
import dev.vmsight.merger.MergedProgram.ProgramInstruction;
import dev.vmsight.merger.MergedProgram.SummaryKind;
import dev.vmsight.vmi.Budget;
import dev.vmsight.vmi.phys.PhysicalMemories;
import dev.vmsight.vmi.vcpu.VcpuState;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Merged programs with call summaries (RANDOM, ALLOCATE, RELEASE) built by hand from real x86
 * bytes, run by the JIT (through {@link ProgramRuns#toJit}) and by merger's reference executor:
 * the same answer, the same arena addresses, and a load of an arena byte never stored fails in
 * both at the same instruction. The guest is a zeroed raw image (its page tables map nothing).
 */
class ProgramRunsSummariesTest {

    static final long CODE = 0x401000, KMALLOC = CODE + 0x80, RANDOM = CODE + 0xc0, KFREE = CODE + 0x100,
            END = 0x402000, DATA = 0x600000;
    static final long BASE = MergedProgram.ARENA_BASE, SLOT = MergedProgram.ARENA_SLOT;
    static final int RBX = Loc.GPR0 + 3, RSP = Loc.GPR0 + 4;

    @TempDir
    Path dir;





    /** Callees the runs must not enter: each zeroes rax and returns (a run entering one would store through 0). */
    private static void callees(List<ProgramInstruction> code, List<ControlSite> controls) {
        for (long f : new long[] {KMALLOC, RANDOM, KFREE}) {
            code.add(kept(f, 0x31, 0xc0));                                    // xor eax, eax
            code.add(none(f + 2, 0xc3));                                      // ret
            controls.add(new ControlSite(f + 2, ControlKind.RETURN, new long[0], ControlRole.RETURN));
        }
    }

    /**
     * rbx = kmalloc() (ALLOCATE; the program also lists a frame there: the summary wins);
     * [rbx] = 0x12345678; ecx = get_random() (RANDOM 0x1000); ecx += [rbx]; rax = kmalloc();
     * rax -= rbx (one slot); rax += rcx; kfree() (RELEASE); [rdi] = rax; [rdi + 8] = rbx;
     * esi = 16; ret (no frame open: END). Answer: [ARENA_SLOT + 0x1000 + 0x12345678, ARENA_BASE].
     */
    static MergedProgram summaries() {
        List<ProgramInstruction> code = new ArrayList<>();
        List<ControlSite> controls = new ArrayList<>();
        code.add(none(CODE, call(CODE, KMALLOC)));                            // call kmalloc
        code.add(kept(CODE + 5, 0x48, 0x89, 0xc3));                           // mov rbx, rax
        code.add(kept(CODE + 8, 0xc7, 0x03, 0x78, 0x56, 0x34, 0x12));         // mov dword [rbx], 0x12345678
        code.add(none(CODE + 14, call(CODE + 14, RANDOM)));                   // call get_random
        code.add(kept(CODE + 19, 0x89, 0xc1));                                // mov ecx, eax
        code.add(kept(CODE + 21, 0x03, 0x0b));                                // add ecx, [rbx]
        code.add(none(CODE + 23, call(CODE + 23, KMALLOC)));                  // call kmalloc
        code.add(kept(CODE + 28, 0x48, 0x29, 0xd8));                          // sub rax, rbx
        code.add(kept(CODE + 31, 0x48, 0x01, 0xc8));                          // add rax, rcx
        code.add(none(CODE + 34, call(CODE + 34, KFREE)));                    // call kfree
        code.add(kept(CODE + 39, 0x48, 0x89, 0x07));                          // mov [rdi], rax
        code.add(kept(CODE + 42, 0x48, 0x89, 0x5f, 0x08));                    // mov [rdi + 8], rbx
        code.add(kept(CODE + 46, 0xbe, 0x10, 0x00, 0x00, 0x00));              // mov esi, 16
        code.add(none(CODE + 51, 0xc3));                                      // ret
        controls.add(new ControlSite(CODE, ControlKind.DIRECT, new long[] {KMALLOC}, ControlRole.FOLLOW));
        controls.add(new ControlSite(CODE + 14, ControlKind.DIRECT, new long[] {RANDOM}, ControlRole.FOLLOW));
        controls.add(new ControlSite(CODE + 23, ControlKind.DIRECT, new long[] {KMALLOC}, ControlRole.FOLLOW));
        controls.add(new ControlSite(CODE + 34, ControlKind.DIRECT, new long[] {KFREE}, ControlRole.FOLLOW));
        controls.add(new ControlSite(CODE + 51, ControlKind.RETURN, new long[0], ControlRole.RETURN));
        callees(code, controls);
        return program(code, controls, List.of(new CallFrame(CODE, CODE + 5, new int[] {RBX, RSP})), List.of(
                new CallSummary(CODE, CODE + 5, SummaryKind.ALLOCATE, 0),
                new CallSummary(CODE + 14, CODE + 19, SummaryKind.RANDOM, 0x1000),
                new CallSummary(CODE + 23, CODE + 28, SummaryKind.ALLOCATE, 0),
                new CallSummary(CODE + 34, CODE + 39, SummaryKind.RELEASE, 0)));
    }

    /** rbx = kmalloc(); byte [rbx] = 1; eax = dword [rbx]: three of its bytes were never stored. */
    static MergedProgram unstoredRead() {
        List<ProgramInstruction> code = new ArrayList<>();
        List<ControlSite> controls = new ArrayList<>();
        code.add(none(CODE, call(CODE, KMALLOC)));                            // call kmalloc
        code.add(kept(CODE + 5, 0x48, 0x89, 0xc3));                           // mov rbx, rax
        code.add(kept(CODE + 8, 0xc6, 0x03, 0x01));                           // mov byte [rbx], 1
        code.add(kept(CODE + 11, 0x8b, 0x03));                                // mov eax, [rbx]
        code.add(kept(CODE + 13, 0x48, 0x89, 0x07));                          // mov [rdi], rax
        code.add(kept(CODE + 16, 0xbe, 0x08, 0x00, 0x00, 0x00));              // mov esi, 8
        code.add(none(CODE + 21, 0xc3));                                      // ret
        controls.add(new ControlSite(CODE, ControlKind.DIRECT, new long[] {KMALLOC}, ControlRole.FOLLOW));
        controls.add(new ControlSite(CODE + 21, ControlKind.RETURN, new long[0], ControlRole.RETURN));
        callees(code, controls);
        return program(code, controls, List.of(), List.of(new CallSummary(CODE, CODE + 5, SummaryKind.ALLOCATE, 0)));
    }

    private static MergedProgram program(List<ProgramInstruction> code, List<ControlSite> controls, List<CallFrame> frames,
                                         List<CallSummary> summaries) {
        return new MergedProgram(MergedProgram.FORMAT_VERSION, "lsmod", "00", "test", CpuFeatures.ALL, "strict",
                CODE, END, code, controls, List.of(new LiveIn.Constant(Loc.GPR0 + 7, DATA), new LiveIn.Constant(RSP, 0x7ffc0000L)),
                ProgramInput.NONE, List.of(new MemoryRange(DATA, new byte[16])), new OutputSpec(OutputKind.UINT64_LIST),
                new MergedProgram.Statistics(1, 20, 20, 20, 20, code.size(), 8, 0, 0, 4), List.of(), frames, summaries);
    }

    private GuestSource source() throws Exception {
        Path ram = dir.resolve("ram");
        Files.write(ram, new byte[1 << 16]);
        return new GuestSource("test", PhysicalMemories.rawImage(ram),
                new VcpuState("test", Map.of("cr3", 0x1000L, "cr4", 0x20L, "efer", 0xd01L)), false, () -> { });
    }

    private static Budget budget() { return Budget.of(100_000, Duration.ofSeconds(10)); }

    @Test
    void theAdapterReplacesEachSummarisedCallAndOpensNoFrameThere() {
        JitProgram jit = ProgramRuns.toJit(summaries());
        Map<Long, JitProgram.Instruction> byAddress = new HashMap<>();
        jit.instructions().forEach(i -> byAddress.put(i.address(), i));
        JitProgram.Instruction first = byAddress.get(CODE);
        assertEquals(new JitProgram.Summary(SummaryKind.ALLOCATE, 0), first.summary());
        assertNull(first.push(), "the summary wins over the frame listed at the call");
        assertEquals(new JitProgram.Control.Fixed(CODE + 5), first.control());
        assertTrue(first.kept().isEmpty());
        assertEquals(new JitProgram.Summary(SummaryKind.RANDOM, 0x1000), byAddress.get(CODE + 14).summary());
        assertEquals(new JitProgram.Control.Fixed(CODE + 19), byAddress.get(CODE + 14).control());
        assertEquals(new JitProgram.Summary(SummaryKind.RELEASE, 0), byAddress.get(CODE + 34).summary());
        assertNull(byAddress.get(CODE + 5).summary());
    }

    @Test
    void aSummaryOfNoInstructionOfTheProgramIsRefusedWithItsAddress() {
        MergedProgram p = summaries();
        List<CallSummary> more = new ArrayList<>(p.summaries());
        more.add(new CallSummary(0x401234, CODE + 5, SummaryKind.RANDOM, 1));
        MergedProgram bad = program(p.instructions(), p.controls(), p.frames(), more);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ProgramRuns.toJit(bad));
        assertTrue(e.getMessage().contains("0x401234"), e.getMessage());
    }

    @Test
    void summariesAnswerTheSameInTheJitAndTheReferenceExecutorRunAfterRun() throws Exception {
        MergedProgram p = summaries();
        List<Long> want = List.of(SLOT + 0x1000L + 0x12345678L, BASE);
        CompiledMonitor monitor = ProgramRuns.compile(p);
        try (GuestSource s = source()) {
            for (int run = 0; run < 2; run++) {    // the second run's allocations start at the arena's base again
                RunOutcome jit = ProgramRuns.runJit(p, monitor, s, null, budget());
                RunOutcome ref = ProgramRuns.runReference(p, s, null, budget());
                assertEquals(want, assertInstanceOf(RunOutcome.Answered.class, ref, ref.toText()).answer().numbers(),
                        "reference, run " + run);
                assertEquals(want, assertInstanceOf(RunOutcome.Answered.class, jit, jit.toText()).answer().numbers(),
                        "jit, run " + run);
            }
        }
    }

    @Test
    void anArenaByteNeverStoredFailsInBothAtTheLoad() throws Exception {
        MergedProgram p = unstoredRead();
        try (GuestSource s = source()) {
            RunOutcome jit = ProgramRuns.runJit(p, ProgramRuns.compile(p), s, null, budget());
            RunOutcome ref = ProgramRuns.runReference(p, s, null, budget());
            RunOutcome.Failed j = assertInstanceOf(RunOutcome.Failed.class, jit, jit.toText());
            RunOutcome.Failed r = assertInstanceOf(RunOutcome.Failed.class, ref, ref.toText());
            assertEquals(CODE + 11, r.site(), r.toText());
            assertEquals(CODE + 11, j.site(), j.toText());
            assertEquals("MEMORY", j.kind(), j.toText());
            assertEquals("BAD_ADDRESS", r.kind(), r.toText());
            assertTrue(j.toText().contains(Long.toHexString(BASE + 1)), "the first byte never stored: " + j.toText());
        }
    }
}
