package dev.vmsight.merger;

import dev.vmsight.merger.MergedProgram.ControlRole;
import dev.vmsight.slicer.GuardPolicy;
import dev.vmsight.slicer.SliceResult;
import dev.vmsight.slicer.Slicer;
import dev.vmsight.tracer.trace.TraceReader;
import dev.vmsight.vmi.Budget;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The slicer's result merged and run: the sliced program must agree with the walker everywhere it answers. */
class SlicedProgramTest {
    private static MergedProgram sliced(GuardPolicy policy, ListGuest... guests) {
        List<TraceReader> traces = Arrays.stream(guests).map(g -> (TraceReader) g.trace().trace()).toList();
        SliceResult slice = Slicer.slice(traces, policy, Optional.empty());
        return Merger.merge(traces, SliceInput.of(slice)).program();
    }

    private static RunResult run(MergedProgram p, ListGuest g) {
        return new ReferenceExecutor(p).run(g.physical, g.vcpu(), new byte[0], Budget.of(100_000, Duration.ofSeconds(10)));
    }

    @Test
    void strictSliceAnswersOwnAndHeldOutAndGuardsTheUnseenDirection() {
        MergedProgram p = sliced(GuardPolicy.STRICT, ListGuest.withPids(1, 7, 42));
        assertEquals("strict", p.policy());
        assertTrue(p.stats().keptUopExecutions() < p.stats().uopExecutions(),
                "the flag µops nobody reads are sliced out: " + p.stats());
        for (int[] pids : new int[][]{{1, 7, 42}, {5}, {100, 200, 300, 400}, {}}) {
            ListGuest g = ListGuest.withPids(pids);
            RunResult r = run(p, g);
            RunResult.Answer a = assertInstanceOf(RunResult.Answer.class, r, r.toString());
            assertArrayEquals(g.trace().answer(), a.bytes(), Arrays.toString(pids));
        }
        RunResult r = run(p, ListGuest.withPids(3, 0x9000, 4));
        assertInstanceOf(RunResult.UnseenPath.class, r, r.toString());
    }

    @Test
    void virtuosoPolicyFollowsTheOneWayBranch() {
        MergedProgram p = sliced(GuardPolicy.VIRTUOSO, ListGuest.withPids(1, 7, 42));
        assertEquals(ControlRole.FOLLOW, p.controlMap().get(0x40001fL).role());
        ListGuest g = ListGuest.withPids(8, 9);
        assertArrayEquals(g.trace().answer(), ((RunResult.Answer) run(p, g)).bytes());
    }
}
