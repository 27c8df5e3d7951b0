package dev.vmsight.merger;

import dev.vmsight.ir.uop.Loc;
import dev.vmsight.merger.MergedProgram.ControlRole;
import dev.vmsight.merger.MergedProgram.ControlSite;
import dev.vmsight.merger.MergedProgram.LiveIn;
import dev.vmsight.vmi.Budget;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Merges traces of the {@link ListGuest} walker and runs the programs on their own and held-out
 * memories: the oracle is the walker's own answer on the real ir interpreter over the same memory.
 */
class MergeAndRunTest {
    private static final Budget BUDGET = Budget.of(100_000, Duration.ofSeconds(10));

    private static MergedProgram merge(SliceInput slice, ListGuest... guests) {
        List<ListGuest.Traced> traced = java.util.Arrays.stream(guests).map(ListGuest::trace).toList();
        return Merger.merge(traced.stream().map(ListGuest.Traced::trace).toList(), slice).program();
    }

    private static RunResult run(MergedProgram p, ListGuest g) {
        return new ReferenceExecutor(p).run(g.physical, g.vcpu(), new byte[0], BUDGET);
    }

    private static ControlSite site(MergedProgram p, long address) {
        ControlSite c = p.controlMap().get(address);
        assertTrue(c != null, "no control site at 0x" + Long.toHexString(address));
        return c;
    }

    /** A VIRTUOSO-like slice input: everything kept, nothing guarded. */
    private static final SliceInput UNGUARDED = new SliceInput() {
        @Override public String policy() { return "virtuoso"; }
        @Override public boolean kept(long address, byte[] bytes, int index) { return true; }
        @Override public boolean guarded(long address) { return false; }
    };

    @Test
    void programFromOneTraceAnswersItsOwnStart() {
        ListGuest g = ListGuest.withPids(1, 7, 42);
        ListGuest.Traced t = g.trace();
        assertArrayEquals(ListGuest.int32s(1, 7, 42), t.answer(), "the walker itself");
        MergedProgram p = Merger.merge(List.of(t.trace()), SliceInput.unsliced()).program();
        RunResult r = run(p, g);
        RunResult.Answer a = assertInstanceOf(RunResult.Answer.class, r, r.toString());
        assertArrayEquals(t.answer(), a.bytes());
        assertEquals("1\n7\n42\n", a.text());
    }

    @Test
    void mergeRecordsRolesLiveInsAndEmbeddedUserMemory() {
        MergedProgram p = merge(SliceInput.unsliced(), ListGuest.withPids(1, 7, 42));
        assertEquals(ListGuest.CODE, p.entry());
        assertEquals(ListGuest.END, p.end());
        assertEquals(ControlRole.BRANCH, site(p, 0x400015).role(), "jz seen both ways");
        assertArrayEquals(new long[]{0x400017, 0x400039}, site(p, 0x400015).successors());
        assertEquals(ControlRole.GUARD, site(p, 0x40001f).role(), "ja seen one way");
        assertArrayEquals(new long[]{0x400021}, site(p, 0x40001f).successors());
        assertEquals(ControlRole.FOLLOW, site(p, 0x400029).role(), "direct jmp");
        assertFalse(p.instructionMap().containsKey(0x40002bL), "never executed");
        assertTrue(p.liveIns().contains(new LiveIn.FromVcpu(Loc.CR3, "cr3")), p.liveIns().toString());
        assertTrue(p.liveIns().contains(new LiveIn.Constant(Loc.CR4, 0x20)), p.liveIns().toString());
        assertEquals(1, p.userMemory().size(), "only &head is read from the user half");
        assertEquals(ListGuest.USER_DATA, p.userMemory().get(0).va());
        assertEquals(8, p.userMemory().get(0).bytes().length);
        assertEquals(p.stats().uopExecutions(), p.stats().keptUopExecutions(), "unsliced keeps all");
    }

    @Test
    void heldOutListsGetTheirOwnAnswer() {
        MergedProgram p = merge(SliceInput.unsliced(), ListGuest.withPids(1, 7, 42));
        for (int[] pids : new int[][]{{5}, {100, 200, 300, 400, 500, 600}, {}}) {
            ListGuest held = ListGuest.withPids(pids);
            byte[] truth = held.trace().answer();
            RunResult r = run(p, held);
            RunResult.Answer a = assertInstanceOf(RunResult.Answer.class, r, r.toString());
            assertArrayEquals(truth, a.bytes(), "pids " + java.util.Arrays.toString(pids));
        }
    }

    @Test
    void anUnseenDirectionIsAnUnseenPathNotAWrongAnswer() {
        MergedProgram p = merge(SliceInput.unsliced(), ListGuest.withPids(1, 7, 42));
        RunResult r = run(p, ListGuest.withPids(3, 0x9000, 4));
        RunResult.UnseenPath u = assertInstanceOf(RunResult.UnseenPath.class, r, r.toString());
        assertEquals(0x40001f, u.site());
        assertEquals(0x40002b, u.observed());
        assertArrayEquals(new long[]{0x400021}, u.expected());
    }

    @Test
    void unguardedProgramsFollowTheTrainedPathSilentlyAndAreWrong() {
        // what Virtuoso did: the answer differs from the walker's own (-1 for the strange pid)
        MergedProgram p = merge(UNGUARDED, ListGuest.withPids(1, 7, 42));
        assertEquals(ControlRole.FOLLOW, site(p, 0x40001f).role());
        ListGuest held = ListGuest.withPids(3, 0x9000, 4);
        RunResult.Answer a = assertInstanceOf(RunResult.Answer.class, run(p, held));
        assertArrayEquals(ListGuest.int32s(3, -1, 4), held.trace().answer());
        assertArrayEquals(ListGuest.int32s(3, 0x9000, 4), a.bytes());
    }

    @Test
    void mergingBothDirectionsMakesTheBranchReal() {
        MergedProgram p = merge(SliceInput.unsliced(), ListGuest.withPids(1, 7, 42), ListGuest.withPids(0x9001, 2));
        assertEquals(ControlRole.BRANCH, site(p, 0x40001f).role());
        assertEquals(2, p.stats().traces());
        ListGuest held = ListGuest.withPids(0x8001, 9, 0xFFFF);
        RunResult.Answer a = assertInstanceOf(RunResult.Answer.class, run(p, held));
        assertArrayEquals(held.trace().answer(), a.bytes());
    }

    @Test
    void aCyclicListExhaustsTheBudget() {
        MergedProgram p = merge(SliceInput.unsliced(), ListGuest.withPids(1, 7, 42));
        ListGuest cyclic = ListGuest.withPids(ListGuest.KERNEL + 64, 1, 2, 3);
        RunResult r = new ReferenceExecutor(p).run(cyclic.physical, cyclic.vcpu(), new byte[0],
                Budget.of(5_000, Duration.ofSeconds(10)));
        RunResult.Failure f = assertInstanceOf(RunResult.Failure.class, r, r.toString());
        assertEquals(RunResult.FailureKind.BUDGET, f.kind());
    }

    @Test
    void aWildPointerIsABadAddressNamingIt() {
        MergedProgram p = merge(SliceInput.unsliced(), ListGuest.withPids(1, 7, 42));
        ListGuest wild = ListGuest.withPids(0xffff888000100000L, 1, 2);
        RunResult r = run(p, wild);
        RunResult.Failure f = assertInstanceOf(RunResult.Failure.class, r, r.toString());
        assertEquals(RunResult.FailureKind.BAD_ADDRESS, f.kind());
        assertTrue(f.message().contains("ffff888000100008"), f.message());
        assertEquals(0x400017, f.site(), "the load of the next node's pid");
    }

    @Test
    void aMissingLiveInIsNamed() {
        MergedProgram p = merge(SliceInput.unsliced(), ListGuest.withPids(1));
        ListGuest g = ListGuest.withPids(1);
        RunResult r = new ReferenceExecutor(p).run(g.physical,
                new dev.vmsight.vmi.vcpu.VcpuState("empty", java.util.Map.of()), new byte[0], BUDGET);
        RunResult.Failure f = assertInstanceOf(RunResult.Failure.class, r, r.toString());
        assertEquals(RunResult.FailureKind.MISSING_LIVE_IN, f.kind());
        assertTrue(f.message().contains("cr3"), f.message());
    }

    @Test
    void tracesOfOtherKernelsAreNotMerged() {
        ListGuest.Traced a = ListGuest.withPids(1).trace();
        var h = a.trace().header();
        var other = new dev.vmsight.tracer.trace.InMemoryTrace(new dev.vmsight.tracer.trace.TraceHeader(h.program(), h.args(),
                new dev.vmsight.tracer.trace.TraceHeader.GuestIdentity("beef", "other", "x", 1, 0), h.features(), h.marks(),
                h.input(), h.expectedOutput(), h.start(), h.context(), 0));
        MergeException e = org.junit.jupiter.api.Assertions.assertThrows(MergeException.class,
                () -> Merger.merge(List.of(a.trace(), other), SliceInput.unsliced()));
        assertTrue(e.getMessage().contains("beef"), e.getMessage());
    }
}
