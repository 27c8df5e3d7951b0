package dev.vmsight.jit;

import dev.vmsight.ir.decode.Decoder;
import dev.vmsight.ir.sys.CpuFeatures;
import dev.vmsight.ir.sys.SystemMachine;
import dev.vmsight.ir.uop.LiftedInstruction;
import dev.vmsight.ir.uop.Loc;
import dev.vmsight.ir.uop.Uop;
import dev.vmsight.ir.uop.UopKind;
import dev.vmsight.merger.MergedProgram;
import dev.vmsight.merger.MergedProgram.SummaryKind;
import dev.vmsight.vmi.Budget;
import dev.vmsight.vmi.GuestMemoryException;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Call summaries ({@link JitProgram.Summary}): a call the run does not enter. Hand-built programs
 * with explicit expected registers and memory, each compiled whole and split into minimal methods.
 * The memory source gives a zero page for every address it is asked (and records which): so an
 * arena byte the run never stored could only fail if the JIT keeps arena pages away from the
 * source, which is what these tests check ("never a zero").
 */
class SummariesTest {
    private static final int RAX = 0, RCX = 1, RDX = 2, RBX = 3, RSP = 4, RSI = 6, RDI = 7, R8 = 8,
            T0 = Loc.TEMP0, T1 = Loc.TEMP0 + 1;
    private static final long MAIN = 0x40_1000L, CALLEE = 0x40_1100L, END = 0x40_2000L;
    private static final long BASE = MergedProgram.ARENA_BASE, SLOT = MergedProgram.ARENA_SLOT;
    private static final Budget BUDGET = Budget.of(1_000_000, Duration.ofSeconds(10));

    // ---- RANDOM

    /**
     * main: a real {@code call callee} summarised as RANDOM 0x5eed (its µops would push the return
     * address through rsp and jump to the callee); then rcx = rax. The callee sets rbx = 7.
     */
    private static JitProgram random(long value) {
        List<JitProgram.Instruction> l = new ArrayList<>();
        l.add(summarisedCall(MAIN, CALLEE, new JitProgram.Summary(SummaryKind.RANDOM, value)));
        l.add(insn(MAIN + 5, END, mov(RCX, RAX)));
        l.add(insn(CALLEE, MAIN + 5, constant(RBX, 7), constant(RAX, 99)));
        return new JitProgram(MAIN, END, l);
    }

    @Test
    void randomSetsRaxAndSkipsTheCallee() {
        JitProgram p = random(0x5eed);
        assertTrue(p.instructions().get(0).kept().isEmpty(), "the call's own µops are not kept");
        long[] s = state();
        for (CompiledMonitor m : compilations(p)) {
            Recorder source = new Recorder();
            MonitorResult.Completed c = assertInstanceOf(MonitorResult.Completed.class, run(m, s, source), where(m));
            assertEquals(0x5eed, c.state()[RAX], where(m) + ": rax is the summary's value");
            assertEquals(0x5eed, c.state()[RCX], where(m) + ": the instruction after the call sees it");
            assertEquals(s[RBX], c.state()[RBX], where(m) + ": the callee did not run");
            assertEquals(s[RSP], c.state()[RSP], where(m) + ": the call pushed nothing");
            assertEquals(END, c.state()[Loc.RIP], where(m));
            assertTrue(c.memory().overlay().isEmpty(), where(m) + ": no store (the return address was not pushed)");
            assertTrue(source.asked.isEmpty(), where(m) + ": no memory read");
        }
    }

    // ---- ALLOCATE

    /**
     * Two ALLOCATE summaries (rbx = the first slot, rax the second), then {@code after}, one
     * instruction per µop list, then the end.
     */
    private static JitProgram allocateTwice(List<List<Uop>> after) {
        List<JitProgram.Instruction> l = new ArrayList<>();
        JitProgram.Summary alloc = new JitProgram.Summary(SummaryKind.ALLOCATE, 0);
        l.add(summarisedCall(MAIN, CALLEE, alloc));
        l.add(insn(MAIN + 5, MAIN + 6, mov(RBX, RAX)));
        l.add(summarisedCall(MAIN + 6, CALLEE, alloc));
        long a = MAIN + 11;
        for (List<Uop> uops : after) {
            l.add(insn(a, a + 1, uops.toArray(new Uop[0])));
            a++;
        }
        l.add(insn(a, END));
        l.add(insn(CALLEE, END, constant(RAX, 0)));     // never reached: a callee returning null
        return new JitProgram(MAIN, END, l);
    }

    @Test
    void twoAllocationsAreOneArenaSlotApartAndStoredBytesReadBack() {
        JitProgram p = allocateTwice(List.of(
                List.of(store(8, RAX, RDX)),                                  // [second] = rdx
                List.of(load(8, RSI, RAX)),                                   // rsi = [second]
                List.of(constant(T0, 3), add(T1, RAX, T0), load(2, RDI, T1)), // rdi = word at second + 3
                List.of(store(4, RBX, RCX)),                                  // [first] = ecx
                List.of(load(4, R8, RBX))));                                  // r8 = dword at first
        long[] s = state();
        s[RDX] = 0x1122_3344_5566_7788L;
        s[RCX] = 0xdead_beef_cafe_f00dL;
        for (CompiledMonitor m : compilations(p)) {
            Recorder source = new Recorder();
            MonitorResult.Completed c = assertInstanceOf(MonitorResult.Completed.class, run(m, s, source), where(m));
            long[] r = c.state();
            assertEquals(BASE, r[RBX], where(m) + ": the run's first allocation is the arena's base");
            assertEquals(BASE + SLOT, r[RAX], where(m) + ": the second is one slot further");
            assertEquals(0x1122_3344_5566_7788L, r[RSI], where(m) + ": the quadword stored at the second slot");
            assertEquals(0x4455L, r[RDI], where(m) + ": bytes 3 and 4 of it");
            assertEquals(0xcafe_f00dL, r[R8], where(m) + ": the dword stored at the first slot");
            assertEquals(0xcafe_f00dL, c.memory().read(BASE, 4), where(m));
            assertTrue(source.asked.isEmpty(), where(m) + ": arena pages are never asked of the source: " + source.asked);
        }
    }

    @Test
    void aLoadOfAnArenaByteNeverStoredIsAMemoryFaultEvenWhenItsPageHasStoredBytes() {
        record Case(String what, List<List<Uop>> after, long faultAt, long address) { }
        List<Case> cases = List.of(
                new Case("a page the run never stored to", List.of(List.of(load(1, RSI, RBX))), MAIN + 11, BASE),
                new Case("a quadword of which one byte was stored", List.of(
                        List.of(store(1, RAX, RDX)), List.of(load(8, RSI, RAX))), MAIN + 12, BASE + SLOT + 1),
                new Case("the byte next to a stored one", List.of(
                        List.of(store(1, RAX, RDX)), List.of(load(1, RSI, RAX)),
                        List.of(constant(T0, 1), add(T1, RAX, T0), load(1, RDI, T1))), MAIN + 13, BASE + SLOT + 1),
                new Case("a word across into the next (unstored) page", List.of(
                        List.of(constant(T0, 4095), add(T1, RAX, T0), store(1, T1, RDX)),
                        List.of(load(2, RSI, T1))), MAIN + 12, BASE + SLOT + 4096));
        long[] s = state();
        for (Case k : cases) {
            for (CompiledMonitor m : compilations(allocateTwice(k.after))) {
                String where = k.what + ", " + where(m);
                Recorder source = new Recorder();
                MonitorResult.Failed f = assertInstanceOf(MonitorResult.Failed.class, run(m, s, source), where);
                assertEquals(MonitorFault.Kind.MEMORY, f.fault().kind(), where + ": " + f.fault().getMessage());
                assertEquals(k.faultAt, f.fault().site().address(), where + ": the loading instruction");
                GuestMemoryException cause = assertInstanceOf(GuestMemoryException.class, f.fault().getCause(), where);
                assertEquals(k.address, cause.linearAddress(), where + ": the first byte never stored");
                assertTrue(cause.getMessage().contains("arena"), where + ": " + cause.getMessage());
                assertTrue(source.asked.isEmpty(), where + ": the source would have given a zero page: " + source.asked);
            }
        }
    }

    @Test
    void everyRunStartsTheArenaAgain() {
        JitProgram p = allocateTwice(List.of(List.of(store(8, RBX, RDX)), List.of(load(8, RSI, RBX))));
        long[] s = state();
        s[RDX] = 42;
        for (CompiledMonitor m : compilations(p)) {
            for (int run = 0; run < 3; run++) {
                MonitorResult.Completed c = assertInstanceOf(MonitorResult.Completed.class, run(m, s, new Recorder()), where(m));
                assertEquals(BASE, c.state()[RBX], where(m) + ", run " + run);
                assertEquals(BASE + SLOT, c.state()[RAX], where(m) + ", run " + run);
                assertEquals(42, c.state()[RSI], where(m) + ", run " + run);
            }
        }
    }

    @Test
    void aRunThatExhaustsTheArenaFailsAtTheAllocation() {
        // allocate in a loop: 2^24 slots, then the arena is full (the budget allows more steps)
        List<JitProgram.Instruction> l = List.of(
                summarisedCall(MAIN, CALLEE, new JitProgram.Summary(SummaryKind.ALLOCATE, 0)),
                insn(MAIN + 5, MAIN),
                insn(CALLEE, END));
        JitProgram p = new JitProgram(MAIN, END, l);
        long slots = (1L << 40) / SLOT;
        CompiledMonitor m = MonitorCompiler.compile(p);
        MonitorResult r = m.run(MonitorContext.of(state(), new Recorder(), Budget.of(2 * slots + 10, Duration.ofSeconds(60))));
        MonitorResult.Failed f = assertInstanceOf(MonitorResult.Failed.class, r, r.toString());
        assertEquals(MonitorFault.Kind.ARENA, f.fault().kind(), f.fault().getMessage());
        assertEquals(MAIN, f.fault().site().address());
        assertTrue(f.fault().getMessage().contains("allocation " + (slots + 1)), f.fault().getMessage());
    }

    @Test
    void releaseDoesNothing() {
        JitProgram p = new JitProgram(MAIN, END, List.of(
                summarisedCall(MAIN, CALLEE, new JitProgram.Summary(SummaryKind.RELEASE, 0)),
                insn(MAIN + 5, END),
                insn(CALLEE, END, constant(RAX, 1))));
        long[] s = state();
        for (CompiledMonitor m : compilations(p)) {
            MonitorResult.Completed c = assertInstanceOf(MonitorResult.Completed.class, run(m, s, new Recorder()), where(m));
            long[] want = s.clone();
            want[Loc.RIP] = END;
            assertArrayEquals(want, c.state(), where(m) + ": only RIP changes");
        }
    }

    // ---- random programs against the oracle

    @Test
    void randomProgramsWithSummariesAndArenaAccessesAgreeWithTheInterpreter() {
        RandomPrograms gen = new RandomPrograms(20261127L);
        int done = 0, faults = 0, arenaFaults = 0, looping = 0, allocating = 0;
        java.util.EnumSet<SummaryKind> seen = java.util.EnumSet.noneOf(SummaryKind.class);
        for (int n = 0; n < 600; n++) {
            RandomPrograms.Case base = gen.next(3 + gen.rnd.nextInt(14));
            RandomPrograms.Case c = gen.withSummaries(n % 2 == 0 ? gen.withFrames(base) : base);
            for (JitProgram.Instruction in : c.program().instructions()) {
                if (in.summary() != null) {
                    seen.add(in.summary().kind());
                }
            }
            RandomPrograms.Expected want = RandomPrograms.oracle(c.program(), c.state(), c.pages(),
                    new RandomPrograms.TestEnv(), RandomPrograms.TEST_SYSTEM, 200_000);
            if (want == null) {     // returns to earlier instructions can loop forever: nothing to compare
                looping++;
                continue;
            }
            for (CompiledMonitor m : compilations(c.program())) {
                String where = "program " + n + " (" + where(m) + ")";
                MonitorResult got = m.run(new MonitorContext(c.state(), RandomPrograms.source(c.pages()),
                        new RandomPrograms.TestEnv(), RandomPrograms.TEST_SYSTEM, BUDGET));
                switch (JitEquivalenceTest.agree(c, want, got, where)) {
                    case 0 -> {
                        done++;
                        long rax = ((MonitorResult.Completed) got).state()[RAX];
                        if (Long.compareUnsigned(rax - BASE, 3 * SLOT) < 0) {
                            allocating++;
                        }
                    }
                    case 2 -> {
                        faults++;
                        if (String.valueOf(((MonitorResult.Failed) got).fault().getMessage()).contains("arena")) {
                            arenaFaults++;
                        }
                    }
                    default -> { }
                }
            }
        }
        System.out.printf("random programs with summaries: %d runs completed (%d ending with an arena address in rax), "
                + "%d faults (%d at arena bytes never stored), %d programs looping%n", done, allocating, faults, arenaFaults,
                looping);
        assertEquals(java.util.EnumSet.allOf(SummaryKind.class), seen);
        assertTrue(done > 300, "too few runs reached the end: " + done);
        assertTrue(allocating > 10, "too few runs ended with an arena address in rax: " + allocating);
        assertTrue(faults > 50, "too few faults: " + faults);
        assertTrue(arenaFaults > 20, "too few loads of arena bytes never stored: " + arenaFaults);
        assertTrue(looping < 60, "too many looping programs: " + looping);
    }

    // ---- the program model

    @Test
    void aSummaryExcludesAFrameAndAnythingButAFixedReturnAddress() {
        LiftedInstruction call = callAt(MAIN, CALLEE);
        BitSet all = new BitSet();
        all.set(0, call.uops().size());
        JitProgram.Summary random = new JitProgram.Summary(SummaryKind.RANDOM, 1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new JitProgram.Instruction(call, all,
                new JitProgram.Control.Fixed(MAIN + 5), new JitProgram.FramePush(MAIN + 5, new int[]{RBX}), random));
        assertTrue(e.getMessage().contains("0x401000"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new JitProgram.Instruction(call, all,
                new JitProgram.Control.Evaluated(List.of(MAIN + 5), JitProgram.OnUnseen.THROW), null, random));
        assertThrows(IllegalArgumentException.class, () -> new JitProgram.Instruction(call, all,
                new JitProgram.Control.Return(List.of()), null, random));
        assertTrue(new JitProgram.Instruction(call, all, new JitProgram.Control.Fixed(MAIN + 5), null, random).kept().isEmpty());
        assertThrows(NullPointerException.class, () -> new JitProgram.Summary(null, 0));
    }

    @Test
    void theDigestCoversTheSummary() {
        Set<String> digests = new HashSet<>();
        digests.add(random(1).digest());
        digests.add(random(2).digest());
        for (SummaryKind k : SummaryKind.values()) {
            digests.add(new JitProgram(MAIN, END, List.of(summarisedCall(MAIN, CALLEE, new JitProgram.Summary(k, 1)),
                    insn(MAIN + 5, END))).digest());
        }
        digests.add(new JitProgram(MAIN, END, List.of(new JitProgram.Instruction(callAt(MAIN, CALLEE), new BitSet(),
                new JitProgram.Control.Fixed(MAIN + 5)), insn(MAIN + 5, END))).digest());
        assertEquals(6, digests.size(), "value, kind and presence of a summary each change the digest");
        assertEquals(random(1).digest(), random(1).digest());
    }

    // ---- helpers

    /** Answers every page with zeros (as a guest mapping everything would) and records what it was asked. */
    private static final class Recorder implements PageSource {
        final List<Long> asked = new ArrayList<>();

        @Override
        public ByteBuffer page(long pageAddress) {
            asked.add(pageAddress);
            return ByteBuffer.wrap(new byte[4096]).asReadOnlyBuffer();
        }
    }

    private static long[] state() {
        long[] s = new long[Loc.COUNT];
        for (int l = 0; l < 16; l++) {
            s[l] = 0x1000L * (l + 1);
        }
        s[RSP] = 0x7ffc_0000L;
        s[RBX] = 0x77;
        return s;
    }

    private static MonitorResult run(CompiledMonitor m, long[] s, PageSource source) {
        return m.run(MonitorContext.of(s, source, BUDGET));
    }

    /** The program compiled normally and split into the smallest methods the generator makes. */
    private static List<CompiledMonitor> compilations(JitProgram p) {
        return List.of(MonitorCompiler.compile(p), MonitorCompiler.define(p, MonitorCompiler.emit(p, 200)));
    }

    private static String where(CompiledMonitor m) {
        return m.methodSizes().keySet().stream().filter(k -> k.matches("m\\d+.*")).count() + " block methods";
    }

    /** A real {@code call rel32} at {@code at} to {@code target}. */
    private static LiftedInstruction callAt(long at, long target) {
        int rel = (int) (target - (at + 5));
        byte[] b = {(byte) 0xe8, (byte) rel, (byte) (rel >> 8), (byte) (rel >> 16), (byte) (rel >>> 24)};
        return SystemMachine.lift(b, at, CpuFeatures.ALL);
    }

    /** The call at {@code at} (all of its µops given as kept: the summary drops them) replaced by {@code summary}. */
    private static JitProgram.Instruction summarisedCall(long at, long callee, JitProgram.Summary summary) {
        LiftedInstruction call = callAt(at, callee);
        BitSet all = new BitSet();
        all.set(0, call.uops().size());
        return new JitProgram.Instruction(call, all, new JitProgram.Control.Fixed(at + 5), null, summary);
    }

    private static JitProgram.Instruction insn(long a, long next, Uop... uops) {
        LiftedInstruction li = new LiftedInstruction(Decoder.decode(new byte[]{(byte) 0x90}, a), List.of(uops));
        BitSet all = new BitSet();
        all.set(0, uops.length);
        return new JitProgram.Instruction(li, all, new JitProgram.Control.Fixed(next));
    }

    private static Uop constant(int loc, long v) {
        return new Uop(UopKind.CONST, 8, null, new int[]{loc}, new int[0], new long[]{v});
    }

    private static Uop mov(int out, int in) { return new Uop(UopKind.MOV, 8, null, new int[]{out}, new int[]{in}, new long[0]); }

    private static Uop add(int out, int a, int b) {
        return new Uop(UopKind.ADD, 8, null, new int[]{out}, new int[]{a, b}, new long[0]);
    }

    private static Uop load(int size, int out, int address) {
        return new Uop(UopKind.LOAD, size, null, new int[]{out}, new int[]{address}, new long[0]);
    }

    private static Uop store(int size, int address, int value) {
        return new Uop(UopKind.STORE, size, null, new int[0], new int[]{address, value}, new long[0]);
    }
}
