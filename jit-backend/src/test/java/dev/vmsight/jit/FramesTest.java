package dev.vmsight.jit;

import dev.vmsight.ir.decode.Decoder;
import dev.vmsight.ir.uop.LiftedInstruction;
import dev.vmsight.ir.uop.Loc;
import dev.vmsight.ir.uop.Uop;
import dev.vmsight.ir.uop.UopKind;
import dev.vmsight.vmi.Budget;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The frame stack of structured calls: a {@link JitProgram.FramePush} before an instruction's kept
 * µops, {@link JitProgram.Control.Return} popping it. Hand-built programs with explicit expected
 * registers (and the interpreter oracle of {@link RandomPrograms}), each compiled twice: as one
 * method, and split into one method per instruction or so (returns then cross methods and go
 * through the run loop), plus seeded random programs with frames against the oracle.
 */
class FramesTest {
    private static final int RAX = 0, RCX = 1, RDX = 2, RBX = 3, RSP = 4, RSI = 6, R12 = 12;
    private static final long BASE = 0x1000, END = 0x2000;
    private static final Budget BUDGET = Budget.of(1_000_000, Duration.ofSeconds(10));

    // ---- hand-built programs

    /**
     * main sets rbx=1, r12=2 and calls f (frame restores rbx, r12, rsp); f overwrites them, sets
     * rcx = rbx + r12 and calls g (frame restores rbx only); g overwrites rbx and r12, copies rbx
     * to rsi and returns; f copies rbx to rdx and returns; main sets rax = rbx + r12 and returns
     * with no frame open: the end.
     */
    private static JitProgram nested(boolean observed) {
        List<JitProgram.Instruction> l = new ArrayList<>();
        l.add(insn(0x1000, fixed(0x1001), null, constant(RBX, 1), constant(R12, 2)));
        l.add(insn(0x1001, fixed(0x1010), push(0x1002, RBX, R12, RSP)));                      // call f
        l.add(insn(0x1002, fixed(0x1003), null, add(RAX, RBX, R12)));
        l.add(insn(0x1003, ret(observed ? List.of(END) : List.of()), null));                   // back to the caller of main
        l.add(insn(0x1010, fixed(0x1011), null, constant(RBX, 100), constant(R12, 200), constant(RSP, 7),
                add(RCX, RBX, R12)));
        l.add(insn(0x1011, fixed(0x1020), push(0x1012, RBX)));                                 // call g
        l.add(insn(0x1012, ret(observed ? List.of(0x1002L) : List.of()), null, mov(RDX, RBX)));
        l.add(insn(0x1020, ret(observed ? List.of(0x1012L) : List.of()), null, constant(RBX, 5555), constant(R12, 9),
                mov(RSI, RBX)));
        return new JitProgram(BASE, END, l);
    }

    @Test
    void nestedCallsRestoreTheirRegistersAndReturnToTheirCallers() {
        for (boolean observed : new boolean[]{true, false}) {
            JitProgram p = nested(observed);
            long[] s = new long[Loc.COUNT];
            s[RSP] = 0x7ffc_0000L;
            for (CompiledMonitor m : compilations(p)) {
                String where = (observed ? "returns to trained addresses" : "returns through the dispatch") + ", "
                        + blockMethods(m) + " block methods";
                MonitorResult.Completed c = assertInstanceOf(MonitorResult.Completed.class, run(m, s), where);
                long[] r = c.state();
                assertEquals(1, r[RBX], where + ": rbx restored by main's frame (g's frame restored f's 100 first)");
                assertEquals(2, r[R12], where + ": r12 restored by main's frame after f and g overwrote it");
                assertEquals(0x7ffc_0000L, r[RSP], where + ": rsp restored");
                assertEquals(3, r[RAX], where + ": rax = rbx + r12 after the return");
                assertEquals(300, r[RCX], where + ": rcx computed in f, not restored");
                assertEquals(100, r[RDX], where + ": f saw its rbx again after g returned");
                assertEquals(5555, r[RSI], where + ": g's value of rbx");
                assertEquals(END, r[Loc.RIP], where);
                agreesWithOracle(p, s, c, where);
            }
        }
    }

    @Test
    void returnWithNoFrameOpenEndsTheRun() {
        JitProgram p = new JitProgram(BASE, END, List.of(
                insn(0x1000, fixed(0x1001), null, constant(RAX, 42)),
                insn(0x1001, ret(List.of()), null, constant(RCX, 43)),
                insn(0x1002, fixed(END), null, constant(RAX, 666))));     // the next instruction: never reached
        for (CompiledMonitor m : compilations(p)) {
            MonitorResult.Completed c = assertInstanceOf(MonitorResult.Completed.class, run(m, new long[Loc.COUNT]));
            assertEquals(42, c.state()[RAX]);
            assertEquals(43, c.state()[RCX], "the return's kept µops run before it pops");
            assertEquals(END, c.state()[Loc.RIP]);
        }
    }

    /**
     * A call whose callee keeps nothing is SKIP: the merged program's adapter makes it Fixed to its
     * return address, whatever the instruction's own µops would compute. Here the real bytes of
     * {@code call rel32} and {@code ret}, none of their µops kept: the stack is never touched.
     */
    @Test
    void skippedCallKeepsNothingAndContinuesAtItsReturnAddress() {
        byte[] call = {(byte) 0xe8, 0x0b, 0x00, 0x00, 0x00};            // call 0x1010
        LiftedInstruction li = dev.vmsight.ir.sys.SystemMachine.lift(call, 0x1000, dev.vmsight.ir.sys.CpuFeatures.ALL);
        assertEquals(0x1010, li.uops().stream().filter(u -> u.kind() == UopKind.CALL).findFirst().orElseThrow().imm()[0]);
        JitProgram p = new JitProgram(BASE, END, List.of(
                new JitProgram.Instruction(li, new BitSet(), fixed(0x1005)),
                insn(0x1005, fixed(END), null, constant(RAX, 5))));
        long[] s = new long[Loc.COUNT];
        s[RSP] = 0x7000_0000L;                                          // unmapped: a kept push would fault
        for (CompiledMonitor m : compilations(p)) {
            MonitorResult.Completed c = assertInstanceOf(MonitorResult.Completed.class, run(m, s));
            assertEquals(5, c.state()[RAX]);
            assertEquals(0x7000_0000L, c.state()[RSP]);
        }
    }

    /**
     * f(rcx): rcx -= 1; if rcx != 0 it calls itself (rbx += 1 each time, restored by every frame).
     * Called with rcx = n it opens n frames.
     */
    private static JitProgram recursion() {
        int t = Loc.TEMP0;
        return new JitProgram(BASE, END, List.of(
                insn(0x1000, fixed(0x1010), push(0x1001, RBX)),                                // call f
                insn(0x1001, ret(List.of()), null),
                insn(0x1010, new JitProgram.Control.Evaluated(List.of(0x1011L, 0x1012L), JitProgram.OnUnseen.THROW), null,
                        constant(t, 1), sub(RCX, RCX, t), new Uop(UopKind.ZERO, 8, null, new int[]{t}, new int[]{RCX}, new long[0]),
                        new Uop(UopKind.BRANCH, 8, null, new int[0], new int[]{t}, new long[]{0x1012, 0x1011})),
                insn(0x1011, fixed(0x1010), push(0x1012, RBX), constant(t, 1), add(RBX, RBX, t)),   // call f
                insn(0x1012, ret(List.of(0x1012L, 0x1001L)), null)));
    }

    @Test
    void framesUpToTheLimitReturnAndOneMoreIsAStructuredFailureAtTheCall() {
        JitProgram p = recursion();
        for (CompiledMonitor m : compilations(p)) {
            long[] s = new long[Loc.COUNT];
            s[RBX] = 17;
            s[RCX] = JitProgram.MAX_FRAME_DEPTH;
            MonitorResult.Completed c = assertInstanceOf(MonitorResult.Completed.class, run(m, s));
            assertEquals(17, c.state()[RBX], "rbx restored through " + JitProgram.MAX_FRAME_DEPTH + " frames");
            assertEquals(0, c.state()[RCX]);
            assertEquals(END, c.state()[Loc.RIP]);
            agreesWithOracle(p, s, c, "recursion to the limit");

            s[RCX] = JitProgram.MAX_FRAME_DEPTH + 1;
            MonitorResult.Failed f = assertInstanceOf(MonitorResult.Failed.class, run(m, s));
            assertEquals(MonitorFault.Kind.FRAME_DEPTH, f.fault().kind(), f.fault().getMessage());
            assertEquals(0x1011, f.fault().site().address(), "the call that would open one frame too many");
            assertTrue(f.fault().getMessage().contains(String.valueOf(JitProgram.MAX_FRAME_DEPTH)), f.fault().getMessage());
        }
    }

    @Test
    void runawayRecursionFailsAtTheDepthLimitNotOnTheBudget() {
        JitProgram p = new JitProgram(BASE, END, List.of(
                insn(0x1000, fixed(0x1000), push(0x1001, RBX)),      // calls itself forever
                insn(0x1001, ret(List.of()), null)));
        for (CompiledMonitor m : compilations(p)) {
            MonitorResult.Failed f = assertInstanceOf(MonitorResult.Failed.class, run(m, new long[Loc.COUNT]));
            assertEquals(MonitorFault.Kind.FRAME_DEPTH, f.fault().kind(), f.fault().getMessage());
            assertEquals(0x1000, f.fault().site().address());
        }
    }

    @Test
    void returnToAnAddressOutsideTheProgramIsAStructuredFailureAtTheReturn() {
        JitProgram p = new JitProgram(BASE, END, List.of(
                insn(0x1000, fixed(0x1001), push(0x5555, RBX)),
                insn(0x1001, ret(List.of(0x1000L)), null)));
        for (CompiledMonitor m : compilations(p)) {
            MonitorResult.Failed f = assertInstanceOf(MonitorResult.Failed.class, run(m, new long[Loc.COUNT]));
            assertEquals(MonitorFault.Kind.OFF_PROGRAM, f.fault().kind(), f.fault().getMessage());
            assertEquals(0x1001, f.fault().site().address());
            assertTrue(f.fault().getMessage().contains("0x5555"), f.fault().getMessage());
        }
    }

    @Test
    void framesAndReturnsChangeTheDigest() {
        JitProgram a = nested(true);
        assertEquals(a.digest(), nested(true).digest());
        assertNotEquals(a.digest(), nested(false).digest(), "observed return addresses");
        List<JitProgram.Instruction> l = new ArrayList<>(a.instructions());
        JitProgram.Instruction call = l.get(1);
        l.set(1, new JitProgram.Instruction(call.lifted(), call.kept(), call.control(), push(0x1002, RBX, R12)));
        assertNotEquals(a.digest(), new JitProgram(BASE, END, l).digest(), "restored locations");
        l.set(1, new JitProgram.Instruction(call.lifted(), call.kept(), call.control(), null));
        assertNotEquals(a.digest(), new JitProgram(BASE, END, l).digest(), "no frame");
    }

    @Test
    void aFrameCannotRestoreRipOrALocationTwice() {
        assertThrows(IllegalArgumentException.class, () -> push(0x1002, Loc.RIP));
        assertThrows(IllegalArgumentException.class, () -> push(0x1002, RBX, RBX));
        assertThrows(IllegalArgumentException.class, () -> push(0x1002, Loc.COUNT));
    }

    // ---- random programs with frames against the oracle

    @Test
    void randomProgramsWithFramesAgreeWithTheInterpreter() {
        RandomPrograms gen = new RandomPrograms(20261126L);
        int done = 0, faults = 0, looping = 0;
        for (int n = 0; n < 600; n++) {
            RandomPrograms.Case c = gen.withFrames(gen.next(3 + gen.rnd.nextInt(14)));
            RandomPrograms.Expected want = RandomPrograms.oracle(c.program(), c.state(), c.pages(),
                    new RandomPrograms.TestEnv(), RandomPrograms.TEST_SYSTEM, 200_000);
            if (want == null) {     // returns to earlier instructions can loop forever: nothing to compare
                looping++;
                continue;
            }
            for (CompiledMonitor m : compilations(c.program())) {
                String where = "program " + n + " (" + blockMethods(m) + " block methods)";
                MonitorResult got = m.run(new MonitorContext(c.state(), RandomPrograms.source(c.pages()),
                        new RandomPrograms.TestEnv(), RandomPrograms.TEST_SYSTEM, BUDGET));
                switch (JitEquivalenceTest.agree(c, want, got, where)) {
                    case 0 -> done++;
                    case 2 -> faults++;
                    default -> { }
                }
            }
        }
        assertTrue(done > 300, "too few runs reached the end: " + done);
        assertTrue(faults > 20, "too few faults (memory, off-program returns): " + faults);
        assertTrue(looping < 60, "too many looping programs: " + looping);
    }

    // ---- helpers

    /** The program compiled normally and split into the smallest methods the generator makes. */
    private static List<CompiledMonitor> compilations(JitProgram p) {
        CompiledMonitor whole = MonitorCompiler.compile(p);
        CompiledMonitor split = MonitorCompiler.define(p, MonitorCompiler.emit(p, 200));
        if (p.instructions().size() > 2) {
            assertTrue(blockMethods(split) > 1, "the split compilation has one method");
        }
        return List.of(whole, split);
    }

    private static long blockMethods(CompiledMonitor m) {
        return m.methodSizes().keySet().stream().filter(k -> k.matches("m\\d+.*")).count();
    }

    private static MonitorResult run(CompiledMonitor m, long[] s) {
        return m.run(MonitorContext.of(s, a -> {
            throw new IllegalStateException("no memory at 0x" + Long.toHexString(a));
        }, BUDGET));
    }

    private static void agreesWithOracle(JitProgram p, long[] s, MonitorResult.Completed got, String where) {
        RandomPrograms.Expected want = RandomPrograms.oracle(p, s, java.util.Map.of(), dev.vmsight.ir.interp.Environment.NONE,
                dev.vmsight.ir.interp.SystemLayer.USER_MODE, 1_000_000);
        RandomPrograms.Expected.Done d = assertInstanceOf(RandomPrograms.Expected.Done.class, want, where);
        assertArrayEquals(d.state(), got.state(), where + ": the interpreter's final state");
    }

    private static JitProgram.Instruction insn(long a, JitProgram.Control c, JitProgram.FramePush push, Uop... uops) {
        LiftedInstruction li = new LiftedInstruction(Decoder.decode(new byte[]{(byte) 0x90}, a), List.of(uops));
        BitSet all = new BitSet();
        all.set(0, uops.length);
        return new JitProgram.Instruction(li, all, c, push);
    }

    private static JitProgram.Control fixed(long t) { return new JitProgram.Control.Fixed(t); }

    private static JitProgram.Control ret(List<Long> observed) { return new JitProgram.Control.Return(observed); }

    private static JitProgram.FramePush push(long ret, int... locs) { return new JitProgram.FramePush(ret, locs); }

    private static Uop constant(int loc, long v) {
        return new Uop(UopKind.CONST, 8, null, new int[]{loc}, new int[0], new long[]{v});
    }

    private static Uop mov(int out, int in) { return new Uop(UopKind.MOV, 8, null, new int[]{out}, new int[]{in}, new long[0]); }

    private static Uop add(int out, int a, int b) {
        return new Uop(UopKind.ADD, 8, null, new int[]{out}, new int[]{a, b}, new long[0]);
    }

    private static Uop sub(int out, int a, int b) {
        return new Uop(UopKind.SUB, 8, null, new int[]{out}, new int[]{a, b}, new long[0]);
    }
}
