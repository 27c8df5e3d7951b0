package dev.vmsight.tracer.replay;

import dev.vmsight.ir.interp.CpuFault;
import dev.vmsight.ir.interp.Environment;
import dev.vmsight.ir.interp.FaultHandler;
import dev.vmsight.ir.interp.Interpreter;
import dev.vmsight.ir.interp.MachineState;
import dev.vmsight.ir.interp.Memory;
import dev.vmsight.ir.interp.SystemLayer;
import dev.vmsight.ir.sys.CpuFeatures;
import dev.vmsight.ir.sys.SystemMachine;
import dev.vmsight.ir.uop.LiftedInstruction;
import dev.vmsight.ir.uop.Loc;
import dev.vmsight.ir.uop.Uop;
import dev.vmsight.ir.uop.UopKind;
import dev.vmsight.tracer.lockstep.LearnedValue;
import dev.vmsight.tracer.trace.DeliveryEvent;
import dev.vmsight.tracer.trace.EnvInputEvent;
import dev.vmsight.tracer.trace.InMemoryTrace;
import dev.vmsight.tracer.trace.InstructionEvent;
import dev.vmsight.tracer.trace.MemoryAccess;
import dev.vmsight.tracer.trace.TraceEvent;
import dev.vmsight.tracer.trace.TraceHeader;
import dev.vmsight.tracer.trace.TranslationEvent;
import dev.vmsight.tracer.trace.UopExecution;
import org.junit.jupiter.api.Test;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static dev.vmsight.tracer.replay.TinyLongModeGuest.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * A replay of a small ring-0 → ring-3 program on a {@link TinyLongModeGuest}: a store and a load,
 * rdtsc from a {@link RecordedEnvironment}, rep movsb, a #PF delivered through the IDT, syscall and
 * sysretq, END in user mode. The events are checked against what the SDM says each instruction
 * does, and every recorded µop is executed again alone from its recorded inputs (and recorded
 * memory and environment values) and must give its recorded outputs.
 */
class ReplayTest {
    private static final long MAIN = 0x10000, PF_HANDLER = 0x11000, AFTER_PF = 0x10100, LSTAR = 0x12000;
    private static final long USER = 0x13000, MARK_OUT = 0x1300A, DATA = 0x20000, OUT = 0x20100;
    private static final long VALUE = 0x1122334455667788L, TSC = 0x1234_5678_9ABCL;
    private static final long RDTSC_RIP = MAIN + 0x1A, FAULT_RIP = MAIN + 0x2D;

    private final TinyLongModeGuest g = new TinyLongModeGuest();

    ReplayTest() {
        g.load(MAIN,
                0x48, 0xB8, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,   // mov rax, 0x1122334455667788
                0x48, 0x89, 0x04, 0x25, 0x00, 0x00, 0x02, 0x00,               // mov [0x20000], rax
                0x48, 0x8B, 0x1C, 0x25, 0x00, 0x00, 0x02, 0x00,               // mov rbx, [0x20000]
                0x0F, 0x31,                                                   // rdtsc
                0xBE, 0x00, 0x00, 0x02, 0x00,                                 // mov esi, 0x20000
                0xBF, 0x00, 0x01, 0x02, 0x00,                                 // mov edi, 0x20100
                0xB9, 0x04, 0x00, 0x00, 0x00,                                 // mov ecx, 4
                0xF3, 0xA4,                                                   // rep movsb
                0x48, 0x8B, 0x04, 0x25, 0x00, 0x90, 0x00, 0x00);              // mov rax, [0x9000]: #PF
        g.load(PF_HANDLER,
                0x48, 0x8B, 0x14, 0x24,                                       // mov rdx, [rsp] (error code)
                0x48, 0xC7, 0xC0, 0x00, 0x01, 0x01, 0x00,                     // mov rax, 0x10100
                0xFF, 0xE0);                                                  // jmp rax
        g.load(AFTER_PF, 0x0F, 0x05);                                         // syscall
        g.load(LSTAR,
                0xB9, 0x00, 0x30, 0x01, 0x00,                                 // mov ecx, 0x13000
                0x41, 0xBB, 0x02, 0x02, 0x00, 0x00,                           // mov r11d, 0x202
                0x48, 0x0F, 0x07);                                            // sysretq
        g.load(USER,
                0xBF, 0x00, 0x01, 0x02, 0x00,                                 // mov edi, 0x20100
                0xBE, 0x04, 0x00, 0x00, 0x00,                                 // mov esi, 4
                0xCC);                                                        // vmsight_mark_out (END: not run)
        g.gate(14, PF_HANDLER);
    }

    private RecordedEnvironment tscAt(long step) {
        return new RecordedEnvironment(List.of(new LearnedValue(step, RDTSC_RIP, "RDTSC", new long[0], new long[]{TSC})));
    }

    private ReplayResult replay(InMemoryTrace trace, RecordedEnvironment env, long maxInstructions) {
        ReplayInput in = new ReplayInput(g.start(MAIN, LSTAR), g.ram, CpuFeatures.ALL, env, MARK_OUT, PML4);
        return Replay.run(in, trace, new ReplayBudget(maxInstructions, 30), ReplayProgress.NONE);
    }

    private static InMemoryTrace emptyTrace() {
        return new InMemoryTrace(new TraceHeader("replay-test", List.of(), new TraceHeader.GuestIdentity("", "", "", 1, 4 << 20),
                CpuFeatures.ALL, new TraceHeader.Marks(MAIN, MAIN, MARK_OUT, PML4), TraceHeader.BufferSpec.none("in"),
                TraceHeader.BufferSpec.none("out"), null, Map.of(), 0));
    }

    private static <T> List<T> only(List<TraceEvent> events, Class<T> kind) {
        return events.stream().filter(kind::isInstance).map(kind::cast).toList();
    }

    @Test
    void recordsTheProgramAndReachesEndWithTheCopiedBytes() {
        InMemoryTrace trace = emptyTrace();
        ReplayResult r = replay(trace, tscAt(4), 1000);
        List<TraceEvent> events = trace.events();
        List<InstructionEvent> instructions = only(events, InstructionEvent.class);

        assertTrue(r.reachedEnd());
        assertEquals(OUT, r.outputVa());
        assertArrayEquals(new byte[]{(byte) 0x88, 0x77, 0x66, 0x55}, r.outputBytes(), "rep movsb copied the stored value");
        assertArrayEquals(new long[]{DATA}, r.outputPagePas());
        assertEquals(instructions.size(), r.steps());
        assertEquals(USER + 5, instructions.get(instructions.size() - 1).rip(), "the last step is the one before END");

        // steps are numbered 1.. in order; the first four instructions are the straight-line ones
        for (int i = 0; i < instructions.size(); i++) {
            assertEquals(i + 1, instructions.get(i).step());
        }
        assertEquals(List.of(MAIN, MAIN + 10, MAIN + 18, RDTSC_RIP),
                instructions.subList(0, 4).stream().map(InstructionEvent::rip).toList());

        // the store: first data access to the page, so its walk is announced first, entries as read
        InstructionEvent store = instructions.get(1);
        MemoryAccess st = single(store);
        assertEquals(new MemoryAccess(DATA, DATA, -1, 8, VALUE, true, 0), st);
        TranslationEvent t0 = only(events, TranslationEvent.class).get(0);
        assertTrue(events.indexOf(t0) < events.indexOf(store), "translation before its first use");
        assertEquals(0, t0.id());
        assertEquals(PML4, t0.cr3());
        assertEquals(DATA, t0.pageBase());
        assertEquals(4096, t0.pageSize());
        assertEquals(DATA, t0.frame());
        assertArrayEquals(new long[]{PML4, PDPT, PD, PT + 8 * (DATA >>> 12)}, t0.pteAddresses());
        // the code fetch walked first and set A (0x20) on the upper levels; the data leaf is still untouched
        assertArrayEquals(new long[]{PDPT | 0x27, PD | 0x27, PT | 0x27, DATA | 7}, t0.pteValues());
        assertEquals(DATA | 0x67, g.ram.read(PT + 8 * (DATA >>> 12), 8), "the store set A and D on the leaf");

        // the load hits the TLB: same translation, no new walk
        assertEquals(new MemoryAccess(DATA, DATA, -1, 8, VALUE, false, 0), single(instructions.get(2)));

        // rdtsc: the value from the recorded environment, as an input event and as the µop's output
        EnvInputEvent tsc = only(events, EnvInputEvent.class).get(0);
        assertEquals(4, tsc.step());
        assertEquals("RDTSC", tsc.kind());
        assertArrayEquals(new long[]{TSC}, tsc.values());
        assertEquals("lockstep step 4", tsc.source());
        assertEquals(1, only(events, EnvInputEvent.class).size());
        InstructionEvent rdtsc = instructions.get(3);
        UopExecution rdtscUop = rdtsc.uops().stream().filter(u -> uopOf(rdtsc, u).kind() == UopKind.RDTSC).findFirst().orElseThrow();
        assertArrayEquals(new long[]{TSC}, rdtscUop.outputs());

        // rep movsb: one step per byte, each a load from DATA+i and a store to OUT+i on the same page
        List<InstructionEvent> movs = instructions.stream().filter(i -> i.rip() == MAIN + 0x2B).toList();
        assertEquals(4, movs.size(), "four iterations");
        for (int i = 0; i < 4; i++) {
            List<MemoryAccess> acc = accesses(movs.get(i));
            assertEquals(List.of(new MemoryAccess(DATA + i, DATA + i, -1, 1, VALUE >>> (8 * i) & 0xFF, false, 0),
                    new MemoryAccess(OUT + i, OUT + i, -1, 1, VALUE >>> (8 * i) & 0xFF, true, 0)), acc);
        }

        // the load from the hole faults: its last µop is marked, nothing read; then the delivery
        InstructionEvent faulting = instructions.stream().filter(i -> i.rip() == FAULT_RIP).findFirst().orElseThrow();
        assertTrue(faulting.faulted());
        assertTrue(accesses(faulting).isEmpty());
        assertTrue(faulting.uops().get(faulting.uops().size() - 1).outputs().length == 0);
        List<DeliveryEvent> deliveries = only(events, DeliveryEvent.class);
        assertEquals(1, deliveries.size());
        DeliveryEvent pf = deliveries.get(0);
        assertEquals(faulting.step(), pf.step());
        TranslationEvent idtPage = only(events, TranslationEvent.class).stream().filter(t -> t.pageBase() == IDT).findFirst()
                .orElseThrow();
        assertTrue(events.indexOf(faulting) < events.indexOf(idtPage) && events.indexOf(idtPage) < events.indexOf(pf),
                "the IDT page's walk is announced between the instruction and the delivery");
        assertEquals(idtPage.id(), pf.accesses()[0].translation());
        int stackPage = only(events, TranslationEvent.class).stream().filter(t -> t.pageBase() == STACK_TOP - 0x1000)
                .findFirst().orElseThrow().id();
        assertEquals(14, pf.vector());
        assertEquals(0, pf.errorCode(), "not present, read, supervisor");
        assertEquals(FAULT_RIP, pf.returnRip(), "a fault returns to the faulting instruction");
        assertEquals(PF_HANDLER, pf.handler());
        // reads: the gate (2 × 8 bytes), the GDT code descriptor; then the frame, pushed from the top down
        long gate = IDT + 14 * 16;
        MemoryAccess[] a = pf.accesses();
        assertEquals(9, a.length);
        assertEquals(gate, a[0].pa());
        assertEquals(gate + 8, a[1].pa());
        assertEquals(GDT + 0x10, a[2].pa());
        assertEquals(0x00af9b000000ffffL, a[2].value());
        long[] frame = {0x18, STACK_TOP, 0x2, 0x10, FAULT_RIP, 0};
        for (int i = 0; i < 6; i++) {
            assertEquals(new MemoryAccess(STACK_TOP - 8 * (i + 1), STACK_TOP - 8 * (i + 1), -1, 8, frame[i], true,
                    stackPage), a[3 + i], "frame word " + i);
        }
        assertArrayEquals(new int[]{Loc.GPR0 + 4, Loc.RIP, Loc.CR2}, pf.writtenLocs(), "RSP, RIP and CR2 changed");
        assertArrayEquals(new long[]{STACK_TOP - 48, PF_HANDLER, HOLE}, pf.writtenValues());
        for (int loc : new int[]{Loc.GPR0 + 4, Loc.RIP, Loc.SEL0 + 1, Loc.SEL0 + 2, Loc.IF, Loc.CR3}) {
            assertTrue(Arrays.stream(pf.readLocs()).anyMatch(l -> l == loc), Loc.name(loc) + " is read by a delivery");
        }
        // the handler read the error code the delivery pushed
        InstructionEvent handler = instructions.get(instructions.indexOf(faulting) + 1);
        assertEquals(PF_HANDLER, handler.rip());
        assertEquals(STACK_TOP - 48, single(handler).va());
        assertEquals(0, single(handler).value());

        // syscall and sysretq: their side effects are recorded as side locations with the new values
        InstructionEvent syscall = instructions.stream().filter(i -> i.rip() == AFTER_PF).findFirst().orElseThrow();
        Map<Integer, Long> sys = sides(syscall, UopKind.SYSCALL);
        assertEquals(Map.of(Loc.GPR0 + 1, AFTER_PF + 2, Loc.GPR0 + 11, 2L, Loc.RIP, LSTAR), sys);
        InstructionEvent sysret = instructions.stream().filter(i -> i.rip() == LSTAR + 11).findFirst().orElseThrow();
        Map<Integer, Long> ret = sides(sysret, UopKind.SYSRET);
        assertEquals(USER, ret.get(Loc.RIP));
        assertEquals(0x33, ret.get(Loc.SEL0 + 1));
        assertEquals(0x2b, ret.get(Loc.SEL0 + 2));
        assertEquals(1, ret.get(Loc.IF));
        assertEquals(4, ret.size());
        assertEquals(3, instructions.get(instructions.size() - 1).cpl());

        // counts agree with the events
        RecordedCounts c = r.counts();
        assertEquals(instructions.size(), c.instructions());
        assertEquals(instructions.stream().mapToLong(i -> i.uops().size()).sum(), c.uops());
        assertEquals(instructions.stream().filter(InstructionEvent::kernel).count(), c.kernelInstructions());
        assertEquals(2, c.userInstructions());
        assertEquals(only(events, TranslationEvent.class).size(), c.translations());
        assertEquals(1, c.deliveries());
        assertEquals(1, c.envInputs());
        Set<String> sites = new HashSet<>();
        for (InstructionEvent i : instructions) {
            i.uops().forEach(u -> sites.add(i.rip() + ":" + Arrays.toString(i.bytes()) + ":" + u.index()));
        }
        assertEquals(sites.size(), c.distinctSites());
        assertTrue(c.distinctSites() < c.uops(), "rep movsb ran the same sites four times");

        // translation ids are 0.. in order of appearance, each announced once
        List<TranslationEvent> ts = only(events, TranslationEvent.class);
        for (int i = 0; i < ts.size(); i++) {
            assertEquals(i, ts.get(i).id());
        }
        assertEveryAccessNamesAnEarlierTranslation(events);
        assertMicroOpsReexecuteToTheirOutputs(events);
    }

    @Test
    void anEnvironmentValueNotLearnedStopsTheReplayNamingStepAndRip() {
        UnknownEnvironmentValueException e = assertThrows(UnknownEnvironmentValueException.class,
                () -> replay(emptyTrace(), tscAt(3), 1000));
        assertEquals(4, e.step());
        assertEquals("RDTSC", e.kind());
        assertEquals(RDTSC_RIP, e.rip());
        assertTrue(e.getMessage().contains("step 4") && e.getMessage().contains("0x1001a"), e.getMessage());
    }

    @Test
    void theBudgetNamesStepsAndRip() {
        ReplayBudgetException e = assertThrows(ReplayBudgetException.class, () -> replay(emptyTrace(), tscAt(4), 3));
        assertEquals(3, e.steps());
        assertEquals(RDTSC_RIP, e.rip());
        assertTrue(e.getMessage().contains("3 instructions done, rip 0x1001a"), e.getMessage());
    }

    @Test
    void anAccessCrossingAPageNamesBothPhysicalAddresses() {
        // remap linear 0x40000 to frame 0x50000 so the second page of an access at 0x3fffc is elsewhere
        g.ram.write(PT + 8 * 0x40, 8, 0x50000 | PRESENT_RW_USER);
        g.ram.write(0x3fffc, 4, 0xddccbbaaL);
        g.ram.write(0x50000, 4, 0x44332211L);
        g.load(MAIN, 0x48, 0x8B, 0x04, 0x25, 0xfc, 0xff, 0x03, 0x00);   // mov rax, [0x3fffc]
        ReplayInput in = new ReplayInput(g.start(MAIN, LSTAR), g.ram, CpuFeatures.ALL, RecordedEnvironment.empty(),
                MAIN + 8, PML4);
        InMemoryTrace trace = emptyTrace();
        g.load(MAIN + 8, 0xCC);
        ReplayResult r = Replay.run(in, trace, new ReplayBudget(10, 10), ReplayProgress.NONE);
        assertEquals(1, r.steps());
        MemoryAccess m = single(only(trace.events(), InstructionEvent.class).get(0));
        assertEquals(new MemoryAccess(0x3fffc, 0x3fffc, 0x50000, 8, 0x44332211ddccbbaaL, false, 0), m);
        assertEquals(0x50003, m.byteAddress(7));
    }

    @Test
    void aUserModeFaultSwitchesToTheRing0StackAndTheDeliveryDiffSaysSo() {
        long userRsp = 0x28000, rsp0 = 0x38000;
        g.ram.write(TSS + 4, 8, rsp0);
        g.load(USER, 0x48, 0x8B, 0x04, 0x25, 0x00, 0x90, 0x00, 0x00);   // mov rax, [0x9000]: #PF at CPL 3
        g.load(PF_HANDLER, 0x90);                                        // nop; END is after it
        long[] a = g.start(USER, LSTAR).architectural();
        a[Loc.SEL0 + 1] = 0x33;
        a[Loc.SEL0 + 2] = 0x2b;
        a[Loc.GPR0 + 4] = userRsp;
        a[Loc.IF] = 1;
        TraceHeader.StartState user = new TraceHeader.StartState(a, GDT, 0x1f, IDT, 0xfff, TSS, 40);
        InMemoryTrace trace = emptyTrace();
        Replay.run(new ReplayInput(user, g.ram, CpuFeatures.ALL, RecordedEnvironment.empty(), PF_HANDLER + 1, PML4),
                trace, new ReplayBudget(10, 10), ReplayProgress.NONE);
        DeliveryEvent pf = only(trace.events(), DeliveryEvent.class).get(0);
        assertEquals(4, pf.errorCode(), "user-mode read of a not-present page");
        assertArrayEquals(new int[]{Loc.GPR0 + 4, Loc.RIP, Loc.IF, Loc.SEL0 + 1, Loc.SEL0 + 2, Loc.CR2}, pf.writtenLocs());
        assertArrayEquals(new long[]{rsp0 - 48, PF_HANDLER, 0, 0x10, 0, HOLE}, pf.writtenValues(),
                "ring-0 stack from the TSS, IF cleared by the interrupt gate, SS nulled with RPL 0");
        MemoryAccess[] acc = pf.accesses();
        assertEquals(10, acc.length, "gate (2), code descriptor, TSS RSP0, six frame words");
        assertEquals(new MemoryAccess(TSS + 4, TSS + 4, -1, 8, rsp0, false, acc[3].translation()), acc[3]);
        long[] frame = {0x2b, userRsp, 0x202, 0x33, USER, 4};
        for (int i = 0; i < 6; i++) {
            assertEquals(rsp0 - 8 * (i + 1), acc[4 + i].va());
            assertEquals(frame[i], acc[4 + i].value(), "frame word " + i);
        }
        assertEquals(0, only(trace.events(), InstructionEvent.class).get(1).cpl());
        assertEveryAccessNamesAnEarlierTranslation(trace.events());
    }

    // ---- helpers and the self-consistency oracle

    private static Uop uopOf(InstructionEvent i, UopExecution u) {
        return SystemMachine.lift(i.bytes(), i.rip(), CpuFeatures.ALL).uops().get(u.index());
    }

    private static List<MemoryAccess> accesses(InstructionEvent i) {
        List<MemoryAccess> all = new ArrayList<>();
        i.uops().forEach(u -> all.addAll(List.of(u.accesses())));
        return all;
    }

    private static MemoryAccess single(InstructionEvent i) {
        List<MemoryAccess> a = accesses(i);
        assertEquals(1, a.size(), "accesses of the instruction at 0x" + Long.toHexString(i.rip()));
        return a.get(0);
    }

    private static Map<Integer, Long> sides(InstructionEvent i, UopKind kind) {
        UopExecution u = i.uops().stream().filter(x -> uopOf(i, x).kind() == kind).findFirst().orElseThrow();
        Map<Integer, Long> m = new HashMap<>();
        for (int k = 0; k < u.sideLocs().length; k++) {
            m.put(u.sideLocs()[k], u.sideValues()[k]);
        }
        return m;
    }

    private static void assertEveryAccessNamesAnEarlierTranslation(List<TraceEvent> events) {
        Map<Integer, TranslationEvent> seen = new HashMap<>();
        for (TraceEvent e : events) {
            List<MemoryAccess> acc = new ArrayList<>();
            if (e instanceof TranslationEvent t) {
                assertNull(seen.put(t.id(), t), "translation " + t.id() + " announced twice");
            } else if (e instanceof InstructionEvent i) {
                acc.addAll(accesses(i));
            } else if (e instanceof DeliveryEvent d) {
                acc.addAll(List.of(d.accesses()));
            }
            for (MemoryAccess m : acc) {
                TranslationEvent t = seen.get(m.translation());
                assertNotNull(t, "access at 0x" + Long.toHexString(m.va()) + " names translation " + m.translation()
                        + " before it was announced");
                assertEquals(t.frame() + (m.va() - t.pageBase()), m.pa(), "pa of 0x" + Long.toHexString(m.va()));
            }
        }
    }

    /**
     * Every non-system µop, run alone by the interpreter from its recorded inputs, with loads
     * answered by its recorded accesses and the environment by the recorded input events, gives
     * its recorded outputs and makes exactly its recorded accesses.
     */
    private static void assertMicroOpsReexecuteToTheirOutputs(List<TraceEvent> events) {
        Deque<EnvInputEvent> env = new ArrayDeque<>();
        int checked = 0;
        for (TraceEvent e : events) {
            if (e instanceof EnvInputEvent in) {
                env.add(in);
            }
            if (!(e instanceof InstructionEvent i) || i.bytes() == null) {
                continue;
            }
            LiftedInstruction li = SystemMachine.lift(i.bytes(), i.rip(), CpuFeatures.ALL);
            for (UopExecution u : i.uops()) {
                Uop uop = li.uops().get(u.index());
                if (u.faulted() || uop.kind().has(UopKind.Flag.SYSTEM)) {
                    continue;
                }
                Deque<MemoryAccess> recorded = new ArrayDeque<>(List.of(u.accesses()));
                Memory memory = new Memory() {
                    @Override public long read(long va, int size) {
                        MemoryAccess m = recorded.removeFirst();
                        assertEquals(m.va(), va);
                        assertEquals(m.size(), size);
                        assertFalse(m.write());
                        return m.value();
                    }

                    @Override public void write(long va, int size, long value) {
                        MemoryAccess m = recorded.removeFirst();
                        assertEquals(m.va(), va);
                        assertEquals(m.size(), size);
                        assertTrue(m.write());
                        assertEquals(m.value(), value & (size == 8 ? -1L : (1L << 8 * size) - 1));
                    }
                };
                Environment recordedEnv = new Environment() {
                    @Override public long rdtsc() { return env.removeFirst().values()[0]; }
                    @Override public long[] cpuid(long leaf, long subleaf) { return env.removeFirst().values(); }
                    @Override public long rdmsr(long msr) { return env.removeFirst().values()[0]; }
                    @Override public long portIn(long port, int size) { return env.removeFirst().values()[0]; }
                    @Override public long rdrand(int size) { return env.removeFirst().values()[0]; }
                };
                MachineState s = new MachineState();
                s.setRip(i.rip());
                for (int k = 0; k < uop.in().length; k++) {
                    s.set(uop.in()[k], u.inputs()[k]);
                }
                Interpreter alone = new Interpreter(memory, a -> { throw new AssertionError("no fetch"); }, recordedEnv,
                        SystemLayer.USER_MODE, FaultHandler.RETHROW);
                alone.execute(new LiftedInstruction(li.instruction(), List.of(uop)), s);
                for (int k = 0; k < uop.out().length; k++) {
                    assertEquals(u.outputs()[k], s.get(uop.out()[k]), "step " + i.step() + " µop " + u.index() + " " + uop
                            + " output " + k);
                }
                assertTrue(recorded.isEmpty(), "step " + i.step() + " µop " + uop + " made fewer accesses than recorded");
                checked++;
            }
        }
        assertTrue(env.isEmpty(), "environment values recorded but never used: " + env);
        assertTrue(checked > 50, "only " + checked + " µops re-executed");
    }
}
