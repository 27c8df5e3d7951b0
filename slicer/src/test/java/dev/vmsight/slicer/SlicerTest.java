package dev.vmsight.slicer;

import dev.vmsight.ir.uop.LiftedInstruction;
import dev.vmsight.ir.uop.Loc;
import dev.vmsight.ir.uop.Uop;
import dev.vmsight.slicer.SliceResult.ControlRole;
import dev.vmsight.tracer.trace.InMemoryTrace;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Optional;

import static dev.vmsight.slicer.SyntheticTrace.IN_PA;
import static dev.vmsight.slicer.SyntheticTrace.OUT_PA;
import static dev.vmsight.slicer.SyntheticTrace.read;
import static dev.vmsight.slicer.SyntheticTrace.write;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Slices of small traces lifted from real x86 bytes, where the exact slice is known by hand. */
class SlicerTest {
    private static SliceResult slice(GuardPolicy policy, InMemoryTrace... traces) {
        return Slicer.slice(List.of(traces), policy, Map.of());
    }

    private static int keptCount(SliceResult r, LiftedInstruction li) {
        var s = r.sites().get(new SliceResult.InstructionKey(li.instruction().address(), li.instruction().bytes()));
        return s == null ? 0 : s.keptUops().cardinality();
    }

    private static void assertAllKept(SliceResult r, LiftedInstruction li) {
        assertEquals(li.uops().size(), keptCount(r, li), "every µop of " + li.instruction() + " " + li.uops());
    }

    private static void assertNoneKept(SliceResult r, LiftedInstruction li) {
        assertEquals(0, keptCount(r, li), "no µop of " + li.instruction() + " " + li.uops());
    }

    @Test
    void valueCopiedThroughMemory() {
        SyntheticTrace t = new SyntheticTrace(8, 0);
        var unrelated = t.ins(0x1000, "48 c7 c1 07 00 00 00");          // mov rcx, 7
        var produce = t.ins(0x1007, "48 c7 c0 2a 00 00 00");            // mov rax, 42
        var store = t.ins(0x100e, "48 89 02", write(0x5000, 8, -1));   // mov [rdx], rax
        var load = t.ins(0x1011, "48 8b 1a", read(0x5000, 8, -1));     // mov rbx, [rdx]
        var out = t.ins(0x1014, "48 89 1f", write(OUT_PA, 8, -1));     // mov [rdi], rbx
        SliceResult r = slice(GuardPolicy.STRICT, t.finish());
        assertNoneKept(r, unrelated);
        for (var li : List.of(produce, store, load, out)) {
            assertAllKept(r, li);
        }
        long expected = produce.uops().size() + store.uops().size() + load.uops().size() + out.uops().size();
        assertEquals(expected, r.statistics().keptUopExecutions());
        assertEquals(expected + unrelated.uops().size(), r.statistics().uopExecutions());
        assertEquals(8, r.criterion().outputPhysicalBytes());
        assertEquals(1, r.statistics().closureRounds(), "no site gains a µop after one of its instances was walked");
    }

    @Test
    void pageTableEntriesReadByALoadAreUsedAsTheyWereAtTheWalk() {
        SyntheticTrace t = new SyntheticTrace(8, 0);
        var before = t.ins(0x1000, "4d 89 08", write(0x3008, 8, -1));  // mov [r8], r9: writes the PTE
        t.translation(0, 0x3000, 0x3008);
        var after = t.ins(0x1003, "4d 89 10", write(0x3008, 8, -1));   // mov [r8], r10: after the walk, cached
        var load = t.ins(0x1006, "48 8b 1a", read(0x5000, 8, 0));      // mov rbx, [rdx] through translation 0
        t.ins(0x1009, "48 89 1f", write(OUT_PA, 8, -1));
        SliceResult r = slice(GuardPolicy.STRICT, t.finish());
        assertAllKept(r, before);
        assertNoneKept(r, after);
        assertAllKept(r, load);
    }

    @Test
    void userHalfAccessesDoNotUsePageTablesAndUserPageFaultsAreSummarised() {
        SyntheticTrace t = new SyntheticTrace(8, 0);
        var pte = t.ins(0x1000, "4d 89 08", write(0x3008, 8, -1));     // mov [r8], r9: writes a PTE
        var zero = t.ins(0x1003, "48 89 0a", write(0x5000, 8, -1));    // mov [rdx], rcx: the page's old content
        t.delivery(14, new int[]{Loc.GPR0 + 4}, new int[]{Loc.GPR0 + 4, Loc.CR2}, new long[]{0, 0x600000},
                write(0x8000, 8, -1));                                  // #PF at user 0x600000
        var handler = t.ins(0xffffffff81000000L, "48 89 3a", write(0x5000, 8, -1)); // mov [rdx], rdi: clears the page
        t.ins(0xffffffff81000003L, "48 cf", read(0x8000, 8, -1));       // iretq
        t.translation(0, 0x3000, 0x3008);
        var load = t.ins(0x1006, "48 8b 1a", SyntheticTrace.userRead(0x600000, 0x5000, 8, 0)); // mov rbx, [rdx]
        t.ins(0x1009, "48 89 1f", write(OUT_PA, 8, -1));
        SliceResult r = slice(GuardPolicy.STRICT, t.finish());
        assertAllKept(r, load);
        assertNoneKept(r, pte);
        assertNoneKept(r, handler);
        assertNoneKept(r, zero);
        assertEquals(1, r.statistics().userPageFaultsSummarised());
    }

    private static InMemoryTrace cmpJe(boolean taken) {
        SyntheticTrace t = new SyntheticTrace(8, 0);
        t.ins(0x1000, "48 39 d8");                                     // cmp rax, rbx
        t.ins(0x1003, "74 05");                                        // je 0x100a
        if (taken) {
            t.ins(0x100a, "48 89 0f", write(OUT_PA, 8, -1));           // mov [rdi], rcx
        } else {
            t.ins(0x1005, "48 89 17", write(OUT_PA, 8, -1));           // mov [rdi], rdx
        }
        return t.finish();
    }

    @Test
    void branchTakenBothWaysSlicesOnlyTheFlagItReads() {
        SliceResult r = slice(GuardPolicy.VIRTUOSO, cmpJe(true), cmpJe(false));
        LiftedInstruction cmp = SyntheticTrace.lift(0x1000, "48 39 d8");
        var site = r.sites().get(new SliceResult.InstructionKey(0x1000, cmp.instruction().bytes()));
        boolean zfKept = false;
        for (int i = 0; i < cmp.uops().size(); i++) {
            Uop u = cmp.uops().get(i);
            if (u.out().length == 1 && Loc.isFlag(u.out()[0])) {
                if (u.out()[0] == Loc.ZF) {
                    zfKept = site.kept(i);
                } else {
                    assertFalse(site.kept(i), "je reads only ZF, yet " + u + " is kept");
                }
            }
        }
        assertTrue(zfKept, "the µop computing ZF is kept: " + cmp.uops());
        var je = r.controlSites().get(0x1003L);
        assertEquals(ControlRole.BRANCH, je.role());
        assertArrayEquals(new long[]{0x1005, 0x100a}, je.successors());
        assertEquals(SliceResult.ControlKind.CONDITIONAL, je.kind());
        assertAllKept(r, SyntheticTrace.lift(0x1003, "74 05"));
    }

    /** The kernel loads the user return address into rcx and sysretq's to it (0x1000 or 0x2000). */
    private static InMemoryTrace sysretTo(long user) {
        SyntheticTrace t = new SyntheticTrace(8, 0);
        t.ins(0xffffffff81000000L, "48 8b 0a", read(0x5000, 8, -1));  // mov rcx, [rdx]
        t.ins(0xffffffff81000003L, "48 0f 07");                        // sysretq
        t.user().ins(user, "48 89 07", write(OUT_PA, 8, -1));          // mov [rdi], rax
        return t.finish();
    }

    private static boolean transferKept(SliceResult r, LiftedInstruction li) {
        for (int i = 0; i < li.uops().size(); i++) {
            if (li.uops().get(i).kind() == dev.vmsight.ir.uop.UopKind.SYSRET) {
                return r.kept(li.instruction().address(), li.instruction().bytes(), i);
            }
        }
        throw new AssertionError("no SYSRET µop in " + li.uops());
    }

    @Test
    void sysretSeenReturningToTwoPlacesIsABranchSlicedWithItsTarget() {
        LiftedInstruction loadRcx = SyntheticTrace.lift(0xffffffff81000000L, "48 8b 0a");
        LiftedInstruction sysret = SyntheticTrace.lift(0xffffffff81000003L, "48 0f 07");
        SliceResult r = slice(GuardPolicy.VIRTUOSO, sysretTo(0x1000), sysretTo(0x2000));
        var site = r.controlSites().get(0xffffffff81000003L);
        assertEquals(SliceResult.ControlKind.SYSTEM_TRANSFER, site.kind());
        assertEquals(ControlRole.BRANCH, site.role());
        assertArrayEquals(new long[]{0x1000, 0x2000}, site.successors());
        assertTrue(transferKept(r, sysret), "the SYSRET µop is kept: " + sysret.uops());
        assertAllKept(r, loadRcx);   // rcx is sysret's new RIP
    }

    @Test
    void sysretSeenReturningOneWayIsAGuardCandidate() {
        LiftedInstruction loadRcx = SyntheticTrace.lift(0xffffffff81000000L, "48 8b 0a");
        LiftedInstruction sysret = SyntheticTrace.lift(0xffffffff81000003L, "48 0f 07");
        SliceResult strict = slice(GuardPolicy.STRICT, sysretTo(0x1000));
        assertEquals(ControlRole.GUARD, strict.controlSites().get(0xffffffff81000003L).role());
        assertTrue(transferKept(strict, sysret), "a guard's transfer is computed: " + sysret.uops());
        assertAllKept(strict, loadRcx);
        SliceResult virtuoso = slice(GuardPolicy.VIRTUOSO, sysretTo(0x1000));
        assertEquals(ControlRole.FOLLOWED, virtuoso.controlSites().get(0xffffffff81000003L).role());
        assertNoneKept(virtuoso, sysret);
        assertNoneKept(virtuoso, loadRcx);
    }

    @Test
    void oneDirectionBranchIsGuardedByStrictAndFollowedByVirtuoso() {
        LiftedInstruction cmp = SyntheticTrace.lift(0x1000, "48 39 d8");
        SliceResult strict = slice(GuardPolicy.STRICT, cmpJe(true));
        assertEquals(ControlRole.GUARD, strict.controlSites().get(0x1003L).role());
        assertTrue(keptCount(strict, cmp) > 0, "a guard's condition is computed");
        assertTrue(strict.guarded(0x1003));

        SliceResult virtuoso = slice(GuardPolicy.VIRTUOSO, cmpJe(true));
        assertEquals(ControlRole.FOLLOWED, virtuoso.controlSites().get(0x1003L).role());
        assertNoneKept(virtuoso, cmp);
        assertFalse(virtuoso.guarded(0x1003));

        // the unseen way leads to code never seen: anything may happen there, so relaxed guards it
        SliceResult relaxed = slice(GuardPolicy.RELAXED, cmpJe(true));
        assertEquals(ControlRole.GUARD, relaxed.controlSites().get(0x1003L).role());
    }

    private static InMemoryTrace skipOver(String skipped) {
        SyntheticTrace t = new SyntheticTrace(8, 0);
        t.ins(0x1000, "48 39 d8");                                     // cmp rax, rbx
        t.ins(0x1003, "74 03");                                        // je 0x1008 (not taken here)
        t.ins(0x1005, skipped);                                        // the code je would skip
        t.ins(0x1008, "48 89 1f", write(OUT_PA, 8, -1));               // mov [rdi], rbx: both ways join here
        return t.finish();
    }

    @Test
    void relaxedGuardsOnlyBranchesThatSkipSlicedCode() {
        SliceResult skipsNothingSliced = slice(GuardPolicy.RELAXED, skipOver("48 89 d1"));   // mov rcx, rdx
        var je = skipsNothingSliced.controlSites().get(0x1003L);
        assertEquals(ControlRole.FOLLOWED, je.role());
        assertFalse(je.controlsSlicedUop());
        assertNoneKept(skipsNothingSliced, SyntheticTrace.lift(0x1000, "48 39 d8"));

        SliceResult skipsSliced = slice(GuardPolicy.RELAXED, skipOver("48 89 d3"));         // mov rbx, rdx
        var je2 = skipsSliced.controlSites().get(0x1003L);
        assertEquals(ControlRole.GUARD, je2.role());
        assertTrue(je2.controlsSlicedUop());
        assertTrue(keptCount(skipsSliced, SyntheticTrace.lift(0x1000, "48 39 d8")) > 0);
    }

    @Test
    void partialRegisterWritesKeepOnlyTheBytesRead() {
        SyntheticTrace one = new SyntheticTrace(1, 0);
        var wide = one.ins(0x1000, "48 8b 02", read(0x5000, 8, -1));   // mov rax, [rdx]
        var low = one.ins(0x1003, "8a 01", read(0x6000, 1, -1));       // mov al, [rcx]
        one.ins(0x1005, "88 07", write(OUT_PA, 1, -1));                 // mov [rdi], al
        SliceResult r = slice(GuardPolicy.STRICT, one.finish());
        assertNoneKept(r, wide);
        assertAllKept(r, low);

        SyntheticTrace two = new SyntheticTrace(2, 0);
        var byte0 = two.ins(0x0ff0, "88 1a", write(0x5000, 1, -1));    // mov [rdx], bl
        var byte1 = two.ins(0x0ff2, "88 1e", write(0x5001, 1, -1));    // mov [rsi], bl
        var wide2 = two.ins(0x1000, "48 8b 02", read(0x5000, 8, -1));
        two.ins(0x1003, "8a 01", read(0x6000, 1, -1));
        two.ins(0x1005, "66 89 07", write(OUT_PA, 2, -1));              // mov [rdi], ax
        SliceResult r2 = slice(GuardPolicy.STRICT, two.finish());
        assertTrue(keptCount(r2, wide2) > 0, "byte 1 of rax comes from the wide load");
        assertNoneKept(r2, byte0);
        assertAllKept(r2, byte1);
    }

    @Test
    void aThirtyTwoBitWriteDefinesAllEightBytes() {
        SyntheticTrace t = new SyntheticTrace(8, 0);
        var load = t.ins(0x1000, "48 8b 02", read(0x5000, 8, -1));     // mov rax, [rdx]
        var mov32 = t.ins(0x1003, "89 d8");                             // mov eax, ebx (zero-extends)
        t.ins(0x1005, "48 89 07", write(OUT_PA, 8, -1));                // mov [rdi], rax
        SliceResult r = slice(GuardPolicy.STRICT, t.finish());
        assertNoneKept(r, load);
        assertAllKept(r, mov32);
    }

    @Test
    void asynchronousInterruptHandlersAreDropped() {
        for (int vector : new int[]{0x20, 14}) {
            SyntheticTrace t = new SyntheticTrace(8, 0);
            var producer = t.ins(0x1000, "48 89 cb");                   // mov rbx, rcx
            t.delivery(vector, new int[]{Loc.GPR0 + 4}, new int[]{Loc.GPR0 + 4}, write(0x8000, 8, -1));
            var handler = t.ins(0xffffffff81000000L, "48 89 d3");       // mov rbx, rdx
            t.ins(0xffffffff81000003L, "48 cf", read(0x8000, 8, -1));  // iretq
            t.ins(0x1003, "48 89 1f", write(OUT_PA, 8, -1));            // mov [rdi], rbx
            SliceResult r = slice(GuardPolicy.STRICT, t.finish());
            if (vector >= 32) {
                assertEquals(1, r.statistics().asyncHandlersDropped());
                assertAllKept(r, producer);
                assertNoneKept(r, handler);
            } else {
                assertEquals(0, r.statistics().asyncHandlersDropped(), "a page fault is part of the computation");
                assertNoneKept(r, producer);
                assertAllKept(r, handler);
            }
        }
    }

    @Test
    void loadsOfTheInputBufferAreProgramInputs() {
        SyntheticTrace t = new SyntheticTrace(8, 8);
        var fill = t.ins(0x1000, "48 89 0a", write(IN_PA, 8, -1));     // mov [rdx], rcx
        var load = t.ins(0x1003, "48 8b 1a", read(IN_PA, 8, -1));      // mov rbx, [rdx]
        t.ins(0x1006, "48 89 1f", write(OUT_PA, 8, -1));
        SliceResult r = slice(GuardPolicy.STRICT, t.finish());
        assertAllKept(r, load);
        assertNoneKept(r, fill);
        assertEquals(8, r.statistics().inputLoads());
    }

    /** call malloc (0x2000: bookkeeping store, rax = rdx, ret); back: the caller {@code after}. */
    private static InMemoryTrace mallocThen(SyntheticTrace t) {
        t.ins(0x1000, "e8 fb 0f 00 00", write(0x8000, 8, -1));   // call 0x2000 (malloc)
        t.ins(0x2000, "48 89 0a", write(0x5000, 8, -1));           // mov [rdx], rcx: allocator bookkeeping
        t.ins(0x2003, "48 89 d0");                                  // mov rax, rdx: the object
        t.ins(0x2006, "c3", read(0x8000, 8, -1));                   // ret
        return null;
    }

    @Test
    void allocatorCallsBecomeSummaries() {
        SyntheticTrace t = new SyntheticTrace(8, 0).user();
        mallocThen(t);
        var fill = t.ins(0x1005, "48 89 30", write(0x6100, 8, -1));            // mov [rax], rsi: the caller fills the object
        var use = t.ins(0x1008, "48 8b 18", read(0x6100, 8, -1));              // mov rbx, [rax]
        t.ins(0x100b, "48 89 1f", write(OUT_PA, 8, -1));
        InMemoryTrace trace = t.finish();
        SliceResult r = Slicer.slice(List.of(trace), GuardPolicy.STRICT, Map.of(0x2000L, "malloc"));
        assertEquals(1, r.statistics().allocatorCallsSummarised());
        assertAllKept(r, use);
        assertTrue(keptCount(r, fill) > 0);
        assertNoneKept(r, SyntheticTrace.lift(0x2000, "48 89 0a"));
        assertNoneKept(r, SyntheticTrace.lift(0x2003, "48 89 d0"));
        assertNoneKept(r, SyntheticTrace.lift(0x1000, "e8 fb 0f 00 00"));
        assertEquals(List.of(new SliceResult.AllocatorCall("malloc", -1, 1)), r.allocatorCalls());
        assertEquals(Slicer.SummaryKind.ALLOCATE, r.summaries().get(0x1000L).kind());

        SliceResult plain = Slicer.slice(List.of(trace), GuardPolicy.STRICT, Map.of());
        assertAllKept(plain, SyntheticTrace.lift(0x2003, "48 89 d0"));
    }

    @Test
    void allocatorSummaryWhoseStoreIsReadLaterLeaksAndIsDropped() {
        SyntheticTrace t = new SyntheticTrace(8, 0).user();
        mallocThen(t);
        t.ins(0x1005, "48 8b 18", read(0x5000, 8, -1));             // mov rbx, [rax]: reads what malloc stored
        t.ins(0x1008, "48 89 1f", write(OUT_PA, 8, -1));
        SliceResult r = Slicer.slice(List.of(t.finish()), GuardPolicy.STRICT, Map.of(0x2000L, "malloc"));
        assertTrue(r.summaries().isEmpty());
        assertTrue(r.summaryLeaks().get(0x1000L).contains("0x5000"), r.summaryLeaks().toString());
        assertAllKept(r, SyntheticTrace.lift(0x2000, "48 89 0a"));
    }

    @Test
    void aStoreKeptByTheStoreClosureWritesTheKernelsValue() {
        SyntheticTrace t = new SyntheticTrace(8, 0, SyntheticTrace.dataPolicyContext());
        t.ins(0x1000, "48 c7 c0 07 00 00 00");                            // mov rax, 7
        t.ins(0x1007, "48 89 06", write(0x5000, 8, -1));                  // mov [rsi], rax: read back below
        t.ins(0x100a, "48 8b 1e", read(0x5000, 8, -1));                   // mov rbx, [rsi]
        t.ins(0x100d, "48 89 1f", write(OUT_PA, 8, -1));                  // mov [rdi], rbx
        var release = t.ins(0x1010, "48 0f ba 36 00",                     // btr qword [rsi], 0: a lock's release,
                read(0x5000, 8, -1), write(0x5000, 8, -1));               // never read back in training
        SliceResult r = slice(GuardPolicy.DATA, t.finish());
        var kept = r.sites().get(new SliceResult.InstructionKey(0x1010, release.instruction().bytes())).keptUops();
        for (int i = 0; i < release.uops().size(); i++) {
            var u = release.uops().get(i);
            if (u.kind() == dev.vmsight.ir.uop.UopKind.STORE || u.kind() == dev.vmsight.ir.uop.UopKind.LOAD) {
                // the program runs the store: without the word it read and cleared a bit of, it would write a
                // stale temporary into the overlay, and a later path training did not take would find the lock held
                assertTrue(kept.get(i), "µop " + i + " " + u + " of the release: " + kept);
            }
        }
    }

    @Test
    void closureKeepsASiteInEveryInstanceAndReportsDisagreements() {
        SyntheticTrace a = new SyntheticTrace(8, 0);
        var setRcx = a.ins(0x0ff0, "48 c7 c1 07 00 00 00");              // mov rcx, 7
        var site = a.ins(0x1000, "48 89 cb");                             // mov rbx, rcx
        a.ins(0x1003, "48 89 1f", write(OUT_PA, 8, -1));
        SyntheticTrace b = new SyntheticTrace(8, 0);
        b.ins(0x1000, "48 89 cb");                                        // same site, rcx from START
        b.ins(0x1010, "48 89 d3");                                        // mov rbx, rdx: overwrites it
        b.ins(0x1013, "48 89 1f", write(OUT_PA, 8, -1));
        SliceResult r = slice(GuardPolicy.STRICT, a.finish(), b.finish());
        assertAllKept(r, site);
        assertAllKept(r, setRcx);
        long perTrace = setRcx.uops().size() + site.uops().size() + 3L;
        assertEquals(site.uops().size() * 2L + setRcx.uops().size()
                        + SyntheticTrace.lift(0x1003, "48 89 1f").uops().size() * 2L
                        + SyntheticTrace.lift(0x1010, "48 89 d3").uops().size(),
                r.statistics().keptUopExecutions(), "the site's instance in trace b is kept by closure" + perTrace);
        assertEquals(1, r.disagreements().size(), r.disagreements().toString());
        var d = r.disagreements().get(0);
        assertEquals(0x1000, d.address());
        assertEquals("rcx", d.location());
        assertEquals(Producers.START, d.producerA());
        assertEquals(1, d.traceA());
        assertEquals(0, d.traceB());
    }

    @Test
    void aTraceThatNeverReachedEndIsRefused() {
        SyntheticTrace t = new SyntheticTrace(8, 0);
        t.ins(0x1000, "48 89 1f", write(OUT_PA, 8, -1));
        InMemoryTrace unfinished = new InMemoryTrace(t.finish().header());
        unfinished.finish(new dev.vmsight.tracer.trace.TraceSummary(0, 0, 0, 0, 0, 0, 0, 0, false, new byte[0], false, 0));
        var e = assertThrows(SliceException.class, () -> slice(GuardPolicy.STRICT, unfinished));
        assertTrue(e.getMessage().contains("did not reach END"), e.getMessage());
    }

    @Test
    void tracesOfDifferentProgramsAreRefused() {
        InMemoryTrace a = cmpJe(true);
        var h = a.header();
        InMemoryTrace b = new InMemoryTrace(new dev.vmsight.tracer.trace.TraceHeader("getpid", h.args(), h.guest(),
                h.features(), h.marks(), h.input(), h.expectedOutput(), h.start(), h.context(), 0));
        b.finish(a.summary());
        var e = assertThrows(SliceException.class, () -> slice(GuardPolicy.STRICT, a, b));
        assertTrue(e.getMessage().contains("synthetic") && e.getMessage().contains("getpid"), e.getMessage());
        assertThrows(SliceException.class, () -> Slicer.slice(List.of(), GuardPolicy.STRICT, Optional.empty()));
    }

    @Test
    void policiesParseByName() {
        assertEquals(GuardPolicy.RELAXED, GuardPolicy.parse("Relaxed"));
        var e = assertThrows(IllegalArgumentException.class, () -> GuardPolicy.parse("loose"));
        assertTrue(e.getMessage().contains("loose"));
    }

    // ---- structured calls, SKIP and RETURN

    private static final long STACK_PA = 0x6000;

    /** call 0x2000; callee {@code body} then ret; back at 0x1005: mov [rdi], rax (the answer). */
    private static InMemoryTrace callThenStore(String body) {
        SyntheticTrace t = new SyntheticTrace(8, 0);
        t.ins(0x1000, "e8 fb 0f 00 00", write(STACK_PA, 8, -1));        // call 0x2000 (pushes 0x1005)
        t.ins(0x2000, body);                                            // 3-byte callee body
        t.ins(0x2003, "c3", read(STACK_PA, 8, -1));                     // ret
        t.ins(0x1005, "48 89 07", write(OUT_PA, 8, -1));                // mov [rdi], rax
        return t.finish();
    }

    @Test
    void callWhoseCalleeKeepsNothingIsSkippedToItsReturnAddress() {
        SliceResult r = slice(GuardPolicy.STRICT, callThenStore("48 89 d1"));   // mov rcx, rdx: not the answer
        var call = r.controlSites().get(0x1000L);
        assertEquals(ControlRole.SKIP, call.role());
        assertEquals(SliceResult.ControlKind.CALL, call.kind());
        assertEquals(0x1005, call.skipTarget());
        assertEquals(ControlRole.RETURN, r.controlSites().get(0x2003L).role());
        assertFalse(r.frames().containsKey(0x1000L), "a skipped call pushes no frame");
        assertNoneKept(r, SyntheticTrace.lift(0x1000, "e8 fb 0f 00 00"));
        assertNoneKept(r, SyntheticTrace.lift(0x2003, "c3"));
        assertNoneKept(r, SyntheticTrace.lift(0x2000, "48 89 d1"));
    }

    @Test
    void calleeComputingTheAnswerRunsInAFrameAndItsReturnAddressIsNotData() {
        SliceResult r = slice(GuardPolicy.STRICT, callThenStore("48 89 d0"));   // mov rax, rdx: the answer
        var frame = r.frames().get(0x1000L);
        assertNotNull(frame, "the call keeps a frame: " + r.frames());
        assertEquals(0x1005, frame.returnAddress());
        assertTrue(java.util.Arrays.stream(frame.restoredLocs()).anyMatch(l -> l == Loc.GPR0 + 4), "rsp is restored");
        assertEquals(ControlRole.RETURN, r.controlSites().get(0x2003L).role());
        assertTrue(keptCount(r, SyntheticTrace.lift(0x2000, "48 89 d0")) > 0, "the callee's mov rax, rdx is kept");
        assertNoneKept(r, SyntheticTrace.lift(0x2003, "c3"));        // neither the return-address load nor rsp += 8
        assertNoneKept(r, SyntheticTrace.lift(0x1000, "e8 fb 0f 00 00"));   // nor the push of 0x1005
    }

    @Test
    void returnToAnotherPlaceThanTheCallsNextInstructionIsNotStructured() {
        SyntheticTrace t = new SyntheticTrace(8, 0);
        t.ins(0x1000, "e8 fb 0f 00 00", write(STACK_PA, 8, -1));        // call 0x2000
        t.ins(0x2000, "48 89 d0");                                      // mov rax, rdx
        t.ins(0x2003, "c3", read(STACK_PA, 8, -1));                     // ret ... to 0x3000 (a rewritten return address)
        t.ins(0x3000, "48 89 07", write(OUT_PA, 8, -1));
        SliceResult r = slice(GuardPolicy.STRICT, t.finish());
        assertTrue(r.frames().isEmpty(), "no frame for an unmatched call: " + r.frames());
        assertEquals(ControlRole.GUARD, r.controlSites().get(0x2003L).role());
    }

    @Test
    void callThroughARetpolineIsStructuredAndTheThunksOwnCallAndReturnAreAnIndirectJump() {
        SyntheticTrace t = new SyntheticTrace(8, 0);
        t.ins(0x1000, "e8 fb 0f 00 00", write(STACK_PA, 8, -1));        // call 0x2000 (__x86_indirect_thunk_rax)
        t.ins(0x2000, "e8 07 00 00 00", write(STACK_PA - 8, 8, -1));    // thunk: call 0x200c
        t.ins(0x200c, "48 89 04 24", write(STACK_PA - 8, 8, -1));       // mov [rsp], rax (the target)
        t.ins(0x2010, "c3", read(STACK_PA - 8, 8, -1));                 // ret: to the target, 0x3000
        t.ins(0x3000, "48 89 d0");                                      // mov rax, rdx: the answer
        t.ins(0x3003, "c3", read(STACK_PA, 8, -1));                     // the target's ret, to 0x1005
        t.ins(0x1005, "48 89 07", write(OUT_PA, 8, -1));                // mov [rdi], rax
        SliceResult r = slice(GuardPolicy.STRICT, t.finish());
        assertNotNull(r.frames().get(0x1000L), "the call around the thunk keeps a frame: " + r.frames());
        assertEquals(ControlRole.RETURN, r.controlSites().get(0x3003L).role());
        assertNull(r.frames().get(0x2000L), "the thunk's call pushes no frame");
        assertNotEquals(ControlRole.RETURN, r.controlSites().get(0x2010L).role(), "the thunk's ret is a jump to its target");
        assertNoneKept(r, SyntheticTrace.lift(0x3003, "c3"));
    }

    /** A retpoline thunk at 0x2000 (call 0x200c; mov [rsp], rax; ret), entered by the call at {@code call}, to {@code target}. */
    private static void throughThunk(SyntheticTrace t, long call, String callBytes, long target, String body) {
        t.ins(call, callBytes, write(STACK_PA, 8, -1));
        t.ins(0x2000, "e8 07 00 00 00", write(STACK_PA - 8, 8, -1));
        t.ins(0x200c, "48 89 04 24", write(STACK_PA - 8, 8, -1));
        t.ins(0x2010, "c3", read(STACK_PA - 8, 8, -1));
        t.ins(target, body);
        t.ins(target + 3, "c3", read(STACK_PA, 8, -1));
    }

    @Test
    void anIndirectCallWhoseTargetKeepsNothingIsSkippedThoughItsThunkServesAnotherCallThatKeeps() {
        SyntheticTrace t = new SyntheticTrace(8, 0);
        t.ins(0x1000, "48 8b 02", read(0x5000, 8, -1));                 // mov rax, [rdx]: the first function pointer
        throughThunk(t, 0x1003, "e8 f8 0f 00 00", 0x3000, "48 89 d1");  // call thunk → 0x3000: mov rcx, rdx (not the answer)
        t.ins(0x1008, "48 8b 06", read(0x5008, 8, -1));                 // mov rax, [rsi]: the second function pointer
        throughThunk(t, 0x100b, "e8 f0 0f 00 00", 0x4000, "48 89 d0");  // call thunk → 0x4000: mov rax, rdx (the answer)
        t.ins(0x1010, "48 89 07", write(OUT_PA, 8, -1));                // mov [rdi], rax
        SliceResult r = slice(GuardPolicy.VIRTUOSO, t.finish());
        assertEquals(ControlRole.BRANCH, r.controlSites().get(0x2010L).role(), "the thunk's jump has two targets");
        assertEquals(ControlRole.SKIP, r.controlSites().get(0x1003L).role(), "the first call's target keeps nothing");
        assertNotNull(r.frames().get(0x100bL), "the second call runs its target in a frame");
        assertTrue(keptCount(r, SyntheticTrace.lift(0x1008, "48 8b 06")) > 0, "the second call's target is computed");
        assertNoneKept(r, SyntheticTrace.lift(0x1000, "48 8b 02"));    // the skipped call's target is not
    }

    /** cmp rax, rbx; je 0x1008 (taken or not); 0x1005: mov rcx, rdx; 0x1008: mov [rdi], rbx. */
    private static InMemoryTrace jumpOverUnusedCode(boolean taken) {
        SyntheticTrace t = new SyntheticTrace(8, 0);
        t.ins(0x1000, "48 39 d8");
        t.ins(0x1003, "74 03");
        if (!taken) {
            t.ins(0x1005, "48 89 d1");
        }
        t.ins(0x1008, "48 89 1f", write(OUT_PA, 8, -1));
        return t.finish();
    }

    @Test
    void branchTakenBothWaysThatNothingDependsOnIsSkippedToWhereTheWaysMeet() {
        SliceResult r = slice(GuardPolicy.STRICT, jumpOverUnusedCode(true), jumpOverUnusedCode(false));
        var je = r.controlSites().get(0x1003L);
        assertEquals(ControlRole.SKIP, je.role());
        assertEquals(0x1008, je.skipTarget());
        assertArrayEquals(new long[]{0x1005, 0x1008}, je.successors());
        assertNoneKept(r, SyntheticTrace.lift(0x1000, "48 39 d8"));
        assertNoneKept(r, SyntheticTrace.lift(0x1003, "74 03"));
    }

    @Test
    void slicedRepInstructionKeepsItsJumpBackToItself() {
        SyntheticTrace t = new SyntheticTrace(16, 0);
        LiftedInstruction rep = t.ins(0x1000, "f3 48 ab", write(OUT_PA, 8, -1));   // rep stosq, iteration 1
        t.ins(0x1000, "f3 48 ab", 10, write(OUT_PA + 8, 8, -1));                    // iteration 2, then leaves
        t.ins(0x1003, "90");
        SliceResult r = slice(GuardPolicy.VIRTUOSO, t.finish());
        assertEquals(ControlRole.BRANCH, r.controlSites().get(0x1000L).role());
        for (int i = 0; i < rep.uops().size(); i++) {
            if (rep.uops().get(i).kind() == dev.vmsight.ir.uop.UopKind.JUMP) {
                assertTrue(r.kept(0x1000, rep.instruction().bytes(), i), "the jump back is kept: " + rep.uops());
            }
        }
    }

    // ---- call summaries

    private static final long K = 0xffffffff81000000L;

    /** call get_random_u32 (at K+0x2000; its body {@code body}, then ret); back: mov [rdi], {@code reg}. */
    private static InMemoryTrace randomCall(String body, String storeFromCaller) {
        SyntheticTrace t = new SyntheticTrace(8, 0);
        t.ins(K + 0x1000, "e8 fb 0f 00 00", write(STACK_PA, 8, -1));    // call K+0x2000
        t.ins(K + 0x2000, body, read(0x5000, 8, -1));                   // the function reads its state
        t.ins(K + 0x2003, "c3", read(STACK_PA, 8, -1));                 // ret
        t.ins(K + 0x1005, storeFromCaller, write(OUT_PA, 8, -1));
        return t.finish();
    }

    @Test
    void summarisedRandomCallIsNotEnteredAndItsStateIsNotSliced() {
        SliceResult r = Slicer.slice(List.of(randomCall("48 8b 02", "48 89 07")), GuardPolicy.STRICT,   // mov rax,[rdx]; mov [rdi],rax
                Map.of(K + 0x2000, "get_random_u32"));
        var c = r.summaries().get(K + 0x1000);
        assertNotNull(c, "the call is summarised: " + r.summaries());
        assertEquals(Slicer.SummaryKind.RANDOM, c.kind());
        assertEquals(K + 0x1005, c.returnAddress());
        assertTrue(r.summaryLeaks().isEmpty());
        assertNoneKept(r, SyntheticTrace.lift(K + 0x2000, "48 8b 02"));
        assertTrue(keptCount(r, SyntheticTrace.lift(K + 0x1005, "48 89 07")) > 0);
    }

    @Test
    void summaryWhoseClobberedRegisterIsReadLaterLeaksAndIsDropped() {
        SliceResult r = Slicer.slice(List.of(randomCall("48 8b 0a", "48 89 0f")), GuardPolicy.STRICT,   // mov rcx,[rdx]; mov [rdi],rcx
                Map.of(K + 0x2000, "get_random_u32"));
        assertTrue(r.summaries().isEmpty(), "dropped: " + r.summaries());
        assertTrue(r.summaryLeaks().get(K + 0x1000).startsWith("get_random_u32 called at 0xffffffff81001000"),
                "the leak is reported: " + r.summaryLeaks());
        assertTrue(keptCount(r, SyntheticTrace.lift(K + 0x2000, "48 8b 0a")) > 0, "then the callee is sliced");
    }

    @Test
    void everyKernelSummaryIsAFunctionTheTracerRecords() {
        assertTrue(dev.vmsight.tracer.capture.KernelSymbols.RECORDED.containsAll(Slicer.KERNEL_SUMMARIES.keySet()));
    }

    /**
     * D1: mov rcx, rdx; B1: je over D2: mov rcx, rbx; B2: jne to U: mov [rdi], rcx (else mov
     * [rdi], rax). Trace 1 runs D1, D2, U (U reads D2's rcx); trace 2 takes B1 and leaves at B2,
     * never reaching U. Merged, D1 → B1 taken → B2 taken → U is a path no trace took, on which U
     * reads D1's rcx: D1 must be kept although no traced instance needed it.
     */
    @Test
    void aWriterReachingAKeptReadOnlyThroughAMergedPathIsKept() {
        SyntheticTrace one = new SyntheticTrace(8, 0);
        one.ins(0x1000, "48 89 d1");                                   // D1
        one.ins(0x1003, "74 03");                                      // B1 not taken
        one.ins(0x1005, "48 89 d9");                                   // D2
        one.ins(0x1008, "75 03");                                      // B2 taken
        one.ins(0x100d, "48 89 0f", write(OUT_PA, 8, -1));             // U
        SyntheticTrace two = new SyntheticTrace(8, 0);
        two.ins(0x1000, "48 89 d1");
        two.ins(0x1003, "74 03");                                      // B1 taken
        two.ins(0x1008, "75 03");                                      // B2 not taken
        two.ins(0x100a, "48 89 07", write(OUT_PA, 8, -1));             // mov [rdi], rax
        SliceResult r = slice(GuardPolicy.VIRTUOSO, one.finish(), two.finish());
        assertAllKept(r, SyntheticTrace.lift(0x1000, "48 89 d1"));
        assertAllKept(r, SyntheticTrace.lift(0x1005, "48 89 d9"));
    }
}
