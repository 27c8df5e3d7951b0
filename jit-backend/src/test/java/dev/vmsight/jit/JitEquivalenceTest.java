package dev.vmsight.jit;

import dev.vmsight.ir.uop.Loc;
import dev.vmsight.ir.uop.UopKind;
import dev.vmsight.vmi.Budget;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.EnumSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The code generator against ir's Interpreter (the oracle) on seeded random µop programs over
 * random states and memory: same final state (every Loc, temporaries included), same memory,
 * same unseen paths, faults at the same instruction. Every µop kind must have been covered.
 */
class JitEquivalenceTest {
    private static final Budget BUDGET = Budget.of(1_000_000, Duration.ofSeconds(10));

    /** Asserts the JIT's result equals the oracle's; returns 0 completed, 1 unseen path, 2 fault. */
    static int agree(RandomPrograms.Case c, RandomPrograms.Expected want, MonitorResult got, String where) {
        if (want instanceof RandomPrograms.Expected.Done d) {
            MonitorResult.Completed r = assertInstanceOf(MonitorResult.Completed.class, got, where);
            for (int l = 0; l < Loc.COUNT; l++) {
                int loc = l;
                assertEquals(d.state()[l], r.state()[l], () -> where + ": " + Loc.name(loc));
            }
            for (long p : c.pages().keySet()) {
                assertArrayEquals(d.pages().get(p), RandomPrograms.pageAfter(r.memory(), p), where + ": page 0x" + Long.toHexString(p));
            }
            assertEquals(d.reports(), r.reports().size(), where + ": reported unseen targets");
            return 0;
        }
        if (want instanceof RandomPrograms.Expected.Unseen u) {
            MonitorResult.Unseen r = assertInstanceOf(MonitorResult.Unseen.class, got, where);
            assertEquals(u.site(), r.path().site().address(), where);
            assertEquals(u.observed(), r.path().observed(), where);
            return 1;
        }
        RandomPrograms.Expected.Fault f = (RandomPrograms.Expected.Fault) want;
        MonitorResult.Failed r = assertInstanceOf(MonitorResult.Failed.class, got, where);
        assertEquals(f.site(), r.fault().site().address(), where + ": " + r.fault().getMessage());
        return 2;
    }

    @Test
    void randomProgramsAgreeWithTheInterpreter() {
        RandomPrograms gen = new RandomPrograms(20261125L);
        Set<UopKind> covered = EnumSet.noneOf(UopKind.class);
        int done = 0, unseen = 0, faults = 0, reports = 0;
        for (int n = 0; n < 1500; n++) {
            RandomPrograms.Case c = gen.next(3 + gen.rnd.nextInt(14));
            String where = "program " + n;
            RandomPrograms.Expected want = RandomPrograms.oracle(c);
            CompiledMonitor m = MonitorCompiler.compile(c.program());
            MonitorResult got = m.run(new MonitorContext(c.state(), RandomPrograms.source(c.pages()),
                    new RandomPrograms.TestEnv(), RandomPrograms.TEST_SYSTEM, BUDGET));
            switch (agree(c, want, got, where)) {
                case 0 -> {
                    done++;
                    reports += ((RandomPrograms.Expected.Done) want).reports();
                    covered.addAll(c.kinds());
                }
                case 1 -> unseen++;
                default -> {
                    faults++;
                    covered.addAll(c.kinds());
                }
            }
        }
        System.out.printf("random programs: %d completed, %d unseen paths, %d faults, %d reported targets%n",
                done, unseen, faults, reports);
        assertEquals(EnumSet.allOf(UopKind.class), covered, "µop kinds not covered");
        assertTrue(done > 300 && unseen > 20 && faults > 50 && reports > 5,
                "too few of some outcome: " + done + " / " + unseen + " / " + faults + " / " + reports);
    }
}
