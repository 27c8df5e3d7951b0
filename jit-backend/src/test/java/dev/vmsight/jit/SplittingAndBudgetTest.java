package dev.vmsight.jit;

import dev.vmsight.ir.decode.Decoder;
import dev.vmsight.ir.uop.LiftedInstruction;
import dev.vmsight.ir.uop.Loc;
import dev.vmsight.ir.uop.Uop;
import dev.vmsight.ir.uop.UopKind;
import dev.vmsight.vmi.Budget;
import dev.vmsight.vmi.BudgetExceededException;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Method splitting (HotSpot's 8000-byte HugeMethodLimit) and the budget on back edges. */
class SplittingAndBudgetTest {

    @Test
    void largeProgramsAreSplitBelowTheHugeMethodLimitAndStillAgree() {
        RandomPrograms gen = new RandomPrograms(7, true);
        int completed = 0;
        // every program must agree with the interpreter; how many complete depends on the draw (a
        // page-crossing access at the last mapped page faults, in both), so 10 are drawn for 3 completions
        for (int n = 0; n < 10; n++) {
            RandomPrograms.Case c = gen.next(3000);
            RandomPrograms.Expected want = RandomPrograms.oracle(c);
            CompiledMonitor m = MonitorCompiler.compile(c.program());
            Map<String, Integer> sizes = m.methodSizes();
            long blockMethods = sizes.keySet().stream().filter(k -> k.matches("m\\d+.*")).count();
            assertTrue(blockMethods > 10, "3000 instructions should need many methods: " + sizes);
            sizes.forEach((name, size) -> assertTrue(size < MonitorCompiler.HUGE_METHOD_LIMIT, name + " has " + size + " bytes"));
            MonitorResult r = m.run(new MonitorContext(c.state(), RandomPrograms.source(c.pages()),
                    new RandomPrograms.TestEnv(), RandomPrograms.TEST_SYSTEM, Budget.of(10_000_000, Duration.ofSeconds(10))));
            if (JitEquivalenceTest.agree(c, want, r, "large program " + n) == 0) {
                completed++;
            }
        }
        assertTrue(completed >= 3, "too few tame programs ran to their end (a page-crossing access at the last mapped page faults): " + completed);
    }

    /** rcx counts down; the branch loops back to itself until rcx is zero. */
    private static JitProgram countdown(long base, int stretch) {
        List<JitProgram.Instruction> list = new ArrayList<>();
        long end = base + stretch + 1;
        int t0 = Loc.TEMP0, t1 = Loc.TEMP0 + 1;
        list.add(JitProgram.Instruction.all(new LiftedInstruction(Decoder.decode(new byte[]{(byte) 0x90}, base), List.of(
                new Uop(UopKind.CONST, 8, null, new int[]{t0}, new int[0], new long[]{1}),
                new Uop(UopKind.SUB, 8, null, new int[]{1}, new int[]{1, t0}, new long[0]))),
                new JitProgram.Control.Fixed(base + 1)));
        for (int i = 1; i < stretch; i++) {     // filler that makes the loop span several methods
            long a = base + i;
            List<Uop> u = new ArrayList<>();
            for (int k = 0; k < 8; k++) {
                u.add(new Uop(UopKind.ADD, 8, null, new int[]{2 + k % 6}, new int[]{2 + k % 6, 1}, new long[0]));
            }
            list.add(JitProgram.Instruction.all(new LiftedInstruction(Decoder.decode(new byte[]{(byte) 0x90}, a), u),
                    new JitProgram.Control.Fixed(a + 1)));
        }
        long last = base + stretch;
        list.add(JitProgram.Instruction.all(new LiftedInstruction(Decoder.decode(new byte[]{(byte) 0x90}, last), List.of(
                new Uop(UopKind.ZERO, 8, null, new int[]{t1}, new int[]{1}, new long[0]),
                new Uop(UopKind.BRANCH, 8, null, new int[0], new int[]{t1}, new long[]{end, base}))),
                new JitProgram.Control.Evaluated(List.of(base, end), JitProgram.OnUnseen.THROW)));
        return new JitProgram(base, end, list);
    }

    private static MonitorResult runCountdown(JitProgram p, long rcx, Budget budget) {
        long[] s = new long[Loc.COUNT];
        s[1] = rcx;
        return MonitorCompiler.compile(p).run(MonitorContext.of(s, a -> { throw new IllegalStateException("no memory"); }, budget));
    }

    @Test
    void loopsRunToTheEndWithinTheBudget() {
        for (int stretch : new int[]{1, 2000}) {
            MonitorResult r = runCountdown(countdown(0x1000, stretch), 5000, Budget.of(1_000_000, Duration.ofSeconds(10)));
            MonitorResult.Completed c = assertInstanceOf(MonitorResult.Completed.class, r);
            assertEquals(0, c.state()[1], "rcx counted down to zero");
            assertTrue(c.steps() >= 4999, "every iteration is a budget step: " + c.steps());
        }
    }

    @Test
    void endlessLoopsStopAtTheStepLimitAndTheTimeLimit() {
        for (int stretch : new int[]{1, 2000}) {       // within one method, and across methods through the dispatcher
            JitProgram p = countdown(0x1000, stretch);
            long t0 = System.nanoTime();
            MonitorResult r = runCountdown(p, 0, Budget.of(200_000, Duration.ofSeconds(30)));  // 0 - 1 never reaches 0 again soon
            BudgetExceededException e = assertInstanceOf(MonitorResult.OverBudget.class, r).cause();
            assertEquals(BudgetExceededException.Limit.STEPS, e.limit());
            r = runCountdown(p, 0, Budget.of(Long.MAX_VALUE, Duration.ofMillis(200)));
            e = assertInstanceOf(MonitorResult.OverBudget.class, r).cause();
            assertEquals(BudgetExceededException.Limit.TIME, e.limit());
            assertTrue(System.nanoTime() - t0 < Duration.ofSeconds(10).toNanos(), "stopped promptly");
        }
    }
}
