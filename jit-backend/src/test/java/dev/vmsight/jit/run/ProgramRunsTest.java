package dev.vmsight.jit.run;

import static org.junit.jupiter.api.Assertions.*;

import dev.vmsight.ir.sys.CpuFeatures;
import dev.vmsight.ir.sys.SystemMachine;
import dev.vmsight.ir.uop.Loc;
import dev.vmsight.merger.MergedProgram;
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
 * A merged program built by hand from real x86 bytes (user half only), adapted to the JIT and run
 * over a source: the answer, a guard's unseen path, the input buffer, a missing live-in.
 */
public class ProgramRunsTest {

    static final long CODE = 0x401000, END = 0x402000, DATA = 0x600000, IN = 0x601000;

    @TempDir
    Path dir;

    private static ProgramInstruction all(long address, int... bytes) {
        byte[] b = new byte[bytes.length];
        for (int i = 0; i < b.length; i++) b[i] = (byte) bytes[i];
        int n = SystemMachine.lift(b, address, CpuFeatures.ALL).uops().size();
        return new ProgramInstruction(address, b, 3, IntStream.range(0, n).toArray());
    }

    /**
     * mov eax,[IN]; cmp eax,7; jne → guard (trained: not taken); add eax,35; mov [rdi],rax;
     * mov esi,8; jmp END. rdi = DATA (constant live-in); the answer is input + 35.
     */
    public static MergedProgram programForTests(ControlRole jneRole) {
        return program(jneRole);
    }

    private static MergedProgram program(ControlRole jneRole) {
        return program(jneRole, all(CODE + 7, 0x83, 0xf8, 0x07));        // cmp eax, 7
    }

    private static MergedProgram program(ControlRole jneRole, ProgramInstruction compare) {
        List<ProgramInstruction> code = new ArrayList<>();
        code.add(all(CODE, 0x8b, 0x04, 0x25, 0x00, 0x10, 0x60, 0x00));   // mov eax, [0x601000]
        code.add(compare);
        code.add(all(CODE + 10, 0x75, 0x10));                             // jne +0x10
        code.add(all(CODE + 12, 0x83, 0xc0, 0x23));                       // add eax, 35
        code.add(all(CODE + 15, 0x48, 0x89, 0x07));                       // mov [rdi], rax
        code.add(all(CODE + 18, 0xbe, 0x08, 0x00, 0x00, 0x00));           // mov esi, 8
        long jmp = CODE + 23;
        int rel = (int) (END - (jmp + 5));
        code.add(all(jmp, 0xe9, rel & 0xff, rel >> 8 & 0xff, rel >> 16 & 0xff, rel >>> 24));  // jmp END
        List<ControlSite> controls = List.of(
                new ControlSite(CODE + 10, ControlKind.CONDITIONAL, new long[] {CODE + 12}, jneRole),
                new ControlSite(jmp, ControlKind.DIRECT, new long[] {END}, ControlRole.FOLLOW));
        return new MergedProgram(MergedProgram.FORMAT_VERSION, "getpid", "00", "test", CpuFeatures.ALL, "strict",
                CODE, END, code, controls, List.of(new LiveIn.Constant(Loc.GPR0 + 7, DATA), new LiveIn.FromVcpu(Loc.GPR0 + 3, "rbx")),
                new ProgramInput(IN, 4), List.of(new MemoryRange(DATA, new byte[8]), new MemoryRange(IN, new byte[] {7, 0, 0, 0})),
                new OutputSpec(OutputKind.INT64), new MergedProgram.Statistics(1, 7, 7, 7, 7, 7, 2, 0, 1, 1));
    }

    /** As {@link #program} with {@code cmp ebx, 7}: the guard is on the vCPU's rbx, which changes when the guest runs. */
    private static MergedProgram guardOnRbx() {
        return program(ControlRole.GUARD, all(CODE + 7, 0x83, 0xfb, 0x07));  // cmp ebx, 7
    }

    /** A paused guest whose rbx is {@code rbxs[0]}, then {@code rbxs[i]} after the i-th resample (the last one repeating). */
    private GuestSource resampled(List<Long> resamples, long... rbxs) throws Exception {
        Path ram = dir.resolve("ram");
        Files.write(ram, new byte[1 << 16]);
        java.util.function.LongFunction<VcpuState> vcpu = rbx -> {
            Map<String, Long> regs = new java.util.HashMap<>(REGS);
            regs.put("rbx", rbx);
            return new VcpuState("test", regs);
        };
        return new GuestSource("test", PhysicalMemories.rawImage(ram), vcpu.apply(rbxs[0]), 0, true, () -> { }, run -> {
            resamples.add(run.toMillis());
            return vcpu.apply(rbxs[Math.min(resamples.size(), rbxs.length - 1)]);
        });
    }

    private static ProgramRuns.Settled settled(MergedProgram p, GuestSource s) {
        return ProgramRuns.runSettled(ProgramRuns.place(p, s), ProgramRuns.compile(p), s, null, Budget.of(1000, Duration.ofSeconds(2)));
    }

    @Test
    void aGuestPausedMidUpdateIsPausedAgainAndAnswers() throws Exception {
        List<Long> resamples = new ArrayList<>();
        try (GuestSource s = resampled(resamples, 5, 7)) {
            ProgramRuns.Settled r = settled(guardOnRbx(), s);
            assertEquals(List.of(42L), assertInstanceOf(RunOutcome.Answered.class, r.outcome(), r.outcome().toText()).answer().numbers());
            assertEquals(1, r.earlier().size(), "the first pause's refusal is kept, to be said");
            assertEquals(CODE + 10, r.earlier().get(0).site());
            assertEquals(List.of(ProgramRuns.SETTLE.toMillis()), resamples);
        }
    }

    @Test
    void theSameRefusalOnTwoPausesIsFinal() throws Exception {
        List<Long> resamples = new ArrayList<>();
        try (GuestSource s = resampled(resamples, 5)) {
            ProgramRuns.Settled r = settled(guardOnRbx(), s);
            RunOutcome.UnseenPath u = assertInstanceOf(RunOutcome.UnseenPath.class, r.outcome(), r.outcome().toText());
            assertEquals(CODE + 10, u.site());
            assertEquals(1, resamples.size(), "one more pause, not " + resamples.size());
        }
    }

    @Test
    void aSourceThatCannotPauseAgainRunsOnce() throws Exception {
        try (GuestSource s = source(Map.of("cr3", 0x1000L, "cr4", 0x20L, "efer", 0xd01L, "rbx", 5L))) {
            assertFalse(s.resamplable());
            ProgramRuns.Settled r = settled(guardOnRbx(), s);
            assertInstanceOf(RunOutcome.UnseenPath.class, r.outcome(), r.outcome().toText());
            assertTrue(r.earlier().isEmpty());
        }
    }

    private GuestSource source(Map<String, Long> regs) throws Exception {
        Path ram = dir.resolve("ram");
        Files.write(ram, new byte[1 << 16]);
        return new GuestSource("test", PhysicalMemories.rawImage(ram), new VcpuState("test", regs), false, () -> { });
    }

    private static final Map<String, Long> REGS = Map.of("cr3", 0x1000L, "cr4", 0x20L, "efer", 0xd01L, "rbx", 5L);

    private static RunOutcome run(MergedProgram p, GuestSource s, byte[] input) {
        return ProgramRuns.runJit(p, ProgramRuns.compile(p), s, input, Budget.of(1000, Duration.ofSeconds(2)));
    }

    @Test
    void trainedInputGivesTheAnswer() throws Exception {
        try (GuestSource s = source(REGS)) {
            RunOutcome r = run(program(ControlRole.GUARD), s, null);
            RunOutcome.Answered a = assertInstanceOf(RunOutcome.Answered.class, r, r.toText());
            assertEquals(List.of(42L), a.answer().numbers());
            assertEquals("jit", a.backend());
        }
    }

    @Test
    void otherInputTakesTheGuardedBranchAndIsAnUnseenPath() throws Exception {
        try (GuestSource s = source(REGS)) {
            RunOutcome r = run(program(ControlRole.GUARD), s, new byte[] {8});
            RunOutcome.UnseenPath u = assertInstanceOf(RunOutcome.UnseenPath.class, r, r.toText());
            assertEquals(CODE + 10, u.site());
            assertEquals(CODE + 12 + 0x10, u.observed());
            assertEquals(List.of(CODE + 12), u.expected());
            // FOLLOW (the Virtuoso policy) silently takes the trained path: a wrong answer, 8 + 35
            RunOutcome f = run(program(ControlRole.FOLLOW), s, new byte[] {8});
            assertEquals(List.of(43L), assertInstanceOf(RunOutcome.Answered.class, f, f.toText()).answer().numbers());
        }
    }

    @Test
    void missingLiveInIsNamed() throws Exception {
        try (GuestSource s = source(Map.of("cr3", 0x1000L, "cr4", 0x20L, "efer", 0xd01L))) {
            var e = assertThrows(dev.vmsight.guests.GuestException.class, () -> run(program(ControlRole.GUARD), s, null));
            assertTrue(e.getMessage().contains("needs register rbx"), e.getMessage());
        }
    }

    @Test
    void gsBasesAreSwappedBackAtCpl0() {
        VcpuState kernel = new VcpuState("hmp", Map.of("cs", 0x10L, "gs_base", 0xffff888007a00000L));
        assertEquals(0xffff888007a00000L, ProgramRuns.userEntryView(kernel).get("kernel_gs_base"));
        assertEquals(0L, ProgramRuns.userEntryView(kernel).get("gs_base"));
        VcpuState core = new VcpuState("elf", Map.of("cs", 0x10L, "gs_base", 0xffff888007a00000L, "kernel_gs_base", 0x4c0000L));
        assertEquals(0xffff888007a00000L, ProgramRuns.userEntryView(core).get("kernel_gs_base"));
        assertEquals(0x4c0000L, ProgramRuns.userEntryView(core).get("gs_base"));
        VcpuState user = new VcpuState("hmp", Map.of("cs", 0x33L, "gs_base", 0L));
        assertTrue(ProgramRuns.userEntryView(user).find("kernel_gs_base").isEmpty());
    }

    @Test
    void inputTooLargeOrUnwantedIsRefused() {
        MergedProgram p = program(ControlRole.GUARD);
        assertThrows(dev.vmsight.guests.GuestException.class, () -> ProgramRuns.userPages(p, new byte[5]));
    }
}
