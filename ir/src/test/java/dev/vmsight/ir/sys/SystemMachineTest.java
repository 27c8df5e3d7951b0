package dev.vmsight.ir.sys;

import dev.vmsight.ir.interp.Environment;
import dev.vmsight.ir.interp.MachineState;
import dev.vmsight.ir.uop.Loc;
import org.junit.jupiter.api.Test;

import java.util.List;

import static dev.vmsight.ir.sys.PagingFormat.*;
import static dev.vmsight.ir.sys.SyntheticGuest.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Whole instructions on a {@link SyntheticGuest}: syscall/sysretq, iretq, exception delivery
 * through the IDT (SDM vol. 3 §6.14: 64-bit frames, IST, RSP0, #DF per Table 6-5) and the
 * privileged instructions. Expected values follow the SDM pseudo-code of each instruction.
 */
class SystemMachineTest {
    private static final int RAX = 0, RCX = 1, RDX = 2, RSP = 4, R11 = 11;
    private static final int CS = Loc.SEL0 + 1, SS = Loc.SEL0 + 2;
    private static final long HANDLER = kva(KERNEL_CODE + 0x800);

    private final SyntheticGuest g = new SyntheticGuest(4);

    /** rdtsc counts up from 1000; everything else is refused. */
    private static final Environment ENV = new Environment() {
        long tsc = 1000;
        @Override public long rdtsc() { return tsc++; }
        @Override public long[] cpuid(long leaf, long subleaf) { return new long[]{leaf, 0x756e6547, 0x6c65746e, 0x49656e69}; }
        @Override public long rdmsr(long msr) { throw new IllegalStateException("msr 0x" + Long.toHexString(msr)); }
        @Override public long portIn(long port, int size) { throw new IllegalStateException("port"); }
        @Override public long rdrand(int size) { throw new IllegalStateException("rdrand"); }
    };

    private SystemMachine machine(MachineState s) { return new SystemMachine(s, g.ram, ENV, g.tables()); }

    private long stackWord(MachineState s, int index) {
        return machine(s).readVirtual(s.gpr(RSP) + 8L * index, 8);
    }

    @Test
    void syscallToLstarHandlerAndSysretqBack() {
        g.load(USER_CODE_PA, 0x0f, 0x05, 0x90);                                   // syscall; nop
        g.load(KERNEL_CODE, 0x0f, 0x01, 0xf8,                                     // swapgs
                0x65, 0x48, 0x8b, 0x04, 0x25, 0x10, 0, 0, 0,                      // mov rax, gs:[0x10]
                0x0f, 0x01, 0xf8,                                                 // swapgs
                0x48, 0x0f, 0x07);                                                // sysretq
        g.ram.write(0x50010, 8, 0x1234);
        MachineState s = g.state(3);
        s.setRip(USER_CODE).setRflags(0x40246);   // AC|IF|ZF|PF
        s.set(Loc.LSTAR, kva(KERNEL_CODE)).set(Loc.KERNEL_GS_BASE, kva(0x50000)).set(Loc.GS_BASE, 0x999);
        SystemMachine m = machine(s);

        Step syscall = m.step();
        assertFalse(syscall.faulted());
        assertEquals(kva(KERNEL_CODE), s.rip());
        assertEquals(USER_CODE + 2, s.gpr(RCX));
        assertEquals(0x40246, s.gpr(R11));
        assertEquals(0x46, s.rflags(), "SFMASK cleared IF and AC");
        assertEquals(0x10, s.get(CS));
        assertEquals(0x18, s.get(SS));
        assertEquals(0, s.cpl());

        m.step();
        assertEquals(kva(0x50000), s.get(Loc.GS_BASE));
        assertEquals(0x999, s.get(Loc.KERNEL_GS_BASE));
        List<String> accesses = new java.util.ArrayList<>();
        m.observe((va, pa, size, value, write) -> accesses.add(Long.toHexString(va) + " " + Long.toHexString(pa)
                + " " + size + " " + Long.toHexString(value) + (write ? " w" : " r")));
        m.step();
        assertEquals(0x1234, s.gpr(RAX));
        assertEquals(List.of(Long.toHexString(kva(0x50010)) + " 50010 8 1234 r"), accesses);
        m.observe(null);
        m.step();
        assertEquals(0x999, s.get(Loc.GS_BASE));

        Step sysret = m.step();
        assertFalse(sysret.faulted());
        assertEquals(USER_CODE + 2, s.rip());
        assertEquals(0x33, s.get(CS));
        assertEquals(0x2b, s.get(SS));
        assertEquals(0x40246, s.rflags());
        assertEquals(3, s.cpl());
        assertTrue(sysret.describe().contains("sysret"), sysret.describe());
    }

    @Test
    void iretqToUserModeAndToTheSameLevel() {
        g.load(KERNEL_CODE, 0x48, 0xcf);
        MachineState s = g.state(0);
        s.setRip(kva(KERNEL_CODE)).setRflags(0x2);
        long rsp = s.gpr(RSP);
        long[] frame = {USER_CODE, USER_CS, 0x3247, USER_STACK_TOP - 0x40, USER_SS};
        for (int i = 0; i < frame.length; i++) {
            g.ram.write(rsp - KERNEL_BASE + 8L * i, 8, frame[i]);
        }
        s.set(Loc.SEL0 + 3, KERNEL_SS).set(Loc.SEL0, USER_SS).set(Loc.FS_BASE, 0x5000);   // DS kernel, ES user
        s.set(Loc.SEL0 + 4, KERNEL_SS);
        machine(s).step();
        assertEquals(0, s.get(Loc.SEL0 + 3), "DS with DPL 0 is nulled on the return to CPL 3");
        assertEquals(0, s.get(Loc.SEL0 + 4));
        assertEquals(0x5000, s.get(Loc.FS_BASE), "the base stays");
        assertEquals(USER_SS, s.get(Loc.SEL0), "ES with DPL 3 stays");
        assertEquals(USER_CODE, s.rip());
        assertEquals(USER_CS, s.get(CS));
        assertEquals(USER_SS, s.get(SS));
        assertEquals(USER_STACK_TOP - 0x40, s.gpr(RSP));
        assertEquals(0x3247, s.rflags(), "CPL 0 may set IOPL and IF");

        MachineState k = g.state(0);
        k.setRip(kva(KERNEL_CODE)).setRflags(0x202);
        long krsp = k.gpr(RSP);
        long[] same = {kva(KERNEL_CODE + 0x100), KERNEL_CS, 0x2, krsp + 0x80, KERNEL_SS};
        for (int i = 0; i < same.length; i++) {
            g.ram.write(krsp - KERNEL_BASE + 8L * i, 8, same[i]);
        }
        machine(k).step();
        assertEquals(kva(KERNEL_CODE + 0x100), k.rip());
        assertEquals(krsp + 0x80, k.gpr(RSP));
        assertEquals(0, k.get(Loc.IF));
        assertEquals(0, k.cpl());
    }

    @Test
    void iretqFromUserModeCannotRaiseIfOrIoplOrTheCpl() {
        g.gate(13, HANDLER, 0, 0xE, 0);
        g.load(USER_CODE_PA, 0x48, 0xcf);
        MachineState s = g.state(3);
        s.setRip(USER_CODE).setRflags(0x2);
        long rsp = s.gpr(RSP);
        long[] frame = {USER_CODE + 0x10, USER_CS, 0x3202, rsp, USER_SS};
        for (int i = 0; i < frame.length; i++) {
            g.ram.write(USER_STACK_PA + (rsp - (USER_STACK_TOP - 0x10000)) + 8L * i, 8, frame[i]);
        }
        machine(s).step();
        assertEquals(USER_CODE + 0x10, s.rip());
        assertEquals(0x2, s.rflags(), "IF and IOPL kept at CPL 3 with IOPL 0");

        MachineState t = g.state(3);
        t.setRip(USER_CODE);
        long trsp = t.gpr(RSP);
        g.ram.write(USER_STACK_PA + (trsp - (USER_STACK_TOP - 0x10000)) + 8, 8, KERNEL_CS);
        Step step = machine(t).step();
        assertEquals(List.of(13), step.deliveries().stream().map(Step.Delivery::vector).toList());
        assertEquals(KERNEL_CS, step.deliveries().get(0).errorCode(), "#GP(selector) for a return to an inner level");
    }

    @Test
    void pageFaultFromUserModeIsDeliveredOnTheIstStack() {
        g.gate(14, HANDLER, 1, 0xE, 0);
        g.load(USER_CODE_PA, 0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x90, 0x00);   // mov rax, [0x900000]
        MachineState s = g.state(3);
        s.setRip(USER_CODE).setRflags(0x247);
        long userRsp = s.gpr(RSP);
        Step step = machine(s).step();
        assertEquals(1, step.deliveries().size());
        Step.Delivery d = step.deliveries().get(0);
        assertEquals(14, d.vector());
        assertEquals(PageFault.U, d.errorCode(), "user read of a not-present page");
        assertEquals(0x900000, s.get(Loc.CR2));
        assertEquals(HANDLER, s.rip());
        assertEquals(KERNEL_CS, s.get(CS));
        assertEquals(0, s.get(SS), "SS is the null selector with RPL 0 after a CPL change");
        assertEquals(kva(IST1_TOP) - 48, s.gpr(RSP), "IST1, five words and the error code");
        assertEquals(0, s.get(Loc.IF), "interrupt gate clears IF");
        long[] expected = {PageFault.U, USER_CODE, USER_CS, 0x247, userRsp, USER_SS};
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], stackWord(s, i), "frame word " + i);
        }
    }

    @Test
    void trapGateFromUserModeUsesRsp0AndKeepsIf() {
        g.gate(6, HANDLER, 0, 0xF, 0);
        g.load(USER_CODE_PA, 0x0f, 0x0b);   // ud2
        MachineState s = g.state(3);
        s.setRip(USER_CODE);
        Step step = machine(s).step();
        assertEquals(6, step.deliveries().get(0).vector());
        assertEquals(-1, step.deliveries().get(0).errorCode(), "#UD pushes no error code");
        assertEquals(kva(KERNEL_STACK_TOP) - 40, s.gpr(RSP));
        assertEquals(USER_CODE, stackWord(s, 0), "a fault returns to the faulting instruction");
        assertEquals(1, s.get(Loc.IF), "trap gate keeps IF");
    }

    @Test
    void faultDuringPageFaultDeliveryBecomesDoubleFault() {
        g.gate(8, HANDLER, 2, 0xE, 0);
        g.gate(14, HANDLER + 0x10, 0, 0xE, 0);
        g.ram.write(IDT + 14 * 16, 8, g.ram.read(IDT + 14 * 16, 8) & ~(1L << 47));   // #PF's gate not present: #NP
        g.load(USER_CODE_PA, 0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x90, 0x00);
        MachineState s = g.state(3);
        s.setRip(USER_CODE);
        Step step = machine(s).step();
        assertEquals(List.of(8), step.deliveries().stream().map(Step.Delivery::vector).toList());
        assertEquals(0, step.deliveries().get(0).errorCode());
        assertTrue(step.deliveries().get(0).cause().contains("#NP"), step.deliveries().get(0).cause());
        assertEquals(0x900000, s.get(Loc.CR2));
        assertEquals(kva(IST2_TOP) - 48, s.gpr(RSP));
        assertEquals(0, stackWord(s, 0));
        assertEquals(USER_CODE, stackWord(s, 1));
    }

    @Test
    void faultDuringDoubleFaultDeliveryIsATripleFault() {
        g.load(USER_CODE_PA, 0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x90, 0x00);
        MachineState s = g.state(3);
        s.setRip(USER_CODE);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> machine(s).step());
        assertTrue(e.getMessage().contains("triple fault"), e.getMessage());
    }

    @Test
    void benignAfterContributoryIsDeliveredSerially() {
        // #GP whose delivery hits a not-present kernel stack page: #PF then... contributory + #PF is not #DF
        g.gate(13, HANDLER, 0, 0xE, 0);
        g.gate(14, HANDLER + 0x10, 1, 0xE, 0);
        g.ram.write(TSS + 4, 8, 0x7777_0000L);   // RSP0 points at an unmapped page
        g.load(USER_CODE_PA, 0xfa);   // cli at CPL 3: #GP(0)
        MachineState s = g.state(3);
        s.setRip(USER_CODE);
        Step step = machine(s).step();
        assertEquals(List.of(14), step.deliveries().stream().map(Step.Delivery::vector).toList());
        assertEquals(0x7777_0000L - 8, s.get(Loc.CR2));
        assertEquals(PageFault.W, step.deliveries().get(0).errorCode(), "a supervisor write, not present");
        assertEquals(HANDLER + 0x10, s.rip());
    }

    @Test
    void privilegedInstructionsAtCpl3RaiseGeneralProtection() {
        g.gate(13, HANDLER, 0, 0xE, 0);
        int[][] programs = {
                {0xfa},                   // cli
                {0x0f, 0x30},             // wrmsr
                {0x0f, 0x32},             // rdmsr
                {0x0f, 0x22, 0xd8},       // mov cr3, rax
                {0x0f, 0x01, 0xf8},       // swapgs
                {0xf4},                   // hlt
                {0x48, 0x0f, 0x07},       // sysretq
        };
        for (int[] code : programs) {
            g.load(USER_CODE_PA, code);
            MachineState s = g.state(3);
            s.setRip(USER_CODE);
            long cr3 = s.get(Loc.CR3);
            Step step = machine(s).step();
            assertEquals(List.of(13), step.deliveries().stream().map(Step.Delivery::vector).toList(), step.describe());
            assertEquals(0, step.deliveries().get(0).errorCode());
            assertEquals(USER_CODE, stackWord(s, 1));
            assertEquals(cr3, s.get(Loc.CR3));
            assertEquals(HANDLER, s.rip());
        }
    }

    @Test
    void softwareInterruptsCheckTheGateDplAndReturnPastTheInstruction() {
        g.gate(13, HANDLER, 0, 0xE, 0);
        g.gate(0x80, HANDLER + 0x40, 0, 0xF, 0);
        g.gate(0x81, HANDLER + 0x80, 0, 0xF, 3);
        g.load(USER_CODE_PA, 0xcd, 0x80);
        MachineState s = g.state(3);
        s.setRip(USER_CODE);
        Step denied = machine(s).step();
        assertEquals(13, denied.deliveries().get(0).vector());
        assertEquals(0x80 * 8 + 2, denied.deliveries().get(0).errorCode());
        assertEquals(USER_CODE, stackWord(s, 1), "the #GP returns to the int instruction");

        g.load(USER_CODE_PA, 0xcd, 0x81);
        MachineState t = g.state(3);
        t.setRip(USER_CODE);
        Step taken = machine(t).step();
        assertEquals(0x81, taken.deliveries().get(0).vector());
        assertEquals(-1, taken.deliveries().get(0).errorCode());
        assertEquals(HANDLER + 0x80, t.rip());
        assertEquals(USER_CODE + 2, stackWord(t, 0), "int n is a trap: the frame returns past it");
    }

    @Test
    void divideErrorAndFetchFromNoExecutePage() {
        g.gate(0, HANDLER, 0, 0xE, 0);
        g.gate(14, HANDLER + 0x10, 0, 0xE, 0);
        g.load(USER_CODE_PA, 0x48, 0xf7, 0xf1);   // div rcx with rcx = 0
        MachineState s = g.state(3);
        s.setRip(USER_CODE);
        assertEquals(0, machine(s).step().deliveries().get(0).vector());
        assertEquals(USER_CODE, stackWord(s, 0));

        MachineState t = g.state(3);
        t.setRip(USER_DATA);   // writable, no-execute
        Step step = machine(t).step();
        assertNull(step.instruction());
        assertEquals(14, step.deliveries().get(0).vector());
        assertEquals(PageFault.P | PageFault.U | PageFault.ID, step.deliveries().get(0).errorCode());
        assertEquals(USER_DATA, t.get(Loc.CR2));
    }

    @Test
    void msrsControlRegistersAndTimestamps() {
        g.load(KERNEL_CODE,
                0x0f, 0x30,                   // wrmsr (ecx = LSTAR)
                0x0f, 0x32,                   // rdmsr
                0x0f, 0x01, 0xf9,             // rdtscp
                0x0f, 0x22, 0xd8,             // mov cr3, rax
                0x8e, 0xe3,                   // mov fs, bx
                0x0f, 0x01, 0x38,             // invlpg [rax]
                0xf4,                         // hlt
                0x0f, 0x20, 0xd9);            // mov rcx, cr3
        MachineState s = g.state(0);
        s.setRip(kva(KERNEL_CODE)).setGpr(RCX, 0xC0000082L).setGpr(RDX, 0xffffffffL).setGpr(RAX, 0x81000000L);
        s.set(Loc.TSC_AUX, 7);
        SystemMachine m = machine(s);
        m.step();
        assertEquals(0xffff_ffff_8100_0000L, s.get(Loc.LSTAR));
        s.setGpr(RAX, 0).setGpr(RDX, 0);
        m.step();
        assertEquals(0x81000000L, s.gpr(RAX));
        assertEquals(0xffffffffL, s.gpr(RDX));
        m.step();
        assertEquals(1000, s.gpr(RAX));
        assertEquals(7, s.gpr(RCX));
        // mov cr3 to a copy of the tables in which one page is remapped: the TLB is flushed
        long va = 0x7000_0000L;
        g.map(va, 0x1200000, 0x1000, RW);
        g.ram.write(0x1200000, 8, 11);
        assertEquals(11, m.readVirtual(va, 8));
        long copy = g.newTable();
        for (int i = 0; i < 512; i++) {
            g.ram.write(copy + 8L * i, 8, g.ram.read(g.root + 8L * i, 8));
        }
        g.map(va, 0x1201000, 0x1000, RW);   // changes the shared lower tables
        g.ram.write(0x1201000, 8, 22);
        assertEquals(11, m.readVirtual(va, 8), "stale TLB entry before the CR3 write");
        s.setGpr(RAX, copy);
        m.step();
        assertEquals(copy, s.get(Loc.CR3));
        assertEquals(22, m.readVirtual(va, 8));
        s.setGpr(3, 0x3b);   // GDT entry 7: base 0x12345678
        m.step();
        assertEquals(0x3b, s.get(Loc.SEL0 + 4));
        assertEquals(0x12345678L, s.get(Loc.FS_BASE));
        g.map(va, 0x1200000, 0x1000, RW);
        s.setGpr(RAX, va);
        m.step();
        assertEquals(11, m.readVirtual(va, 8), "invlpg dropped the entry");
        Step hlt = m.step();
        assertTrue(m.halted());
        assertEquals(hlt.instruction().instruction().nextAddress(), s.rip());
        m.step();
        assertEquals(copy, s.gpr(RCX));
    }

    @Test
    void syscallWithSceClearAndSysretToNonCanonicalRcxFault() {
        g.gate(6, HANDLER, 0, 0xE, 0);
        g.gate(13, HANDLER + 0x10, 0, 0xE, 0);
        g.load(USER_CODE_PA, 0x0f, 0x05);
        MachineState s = g.state(3);
        s.setRip(USER_CODE).set(Loc.EFER, s.get(Loc.EFER) & ~Mmu.EFER_SCE);
        assertEquals(6, machine(s).step().deliveries().get(0).vector());

        g.load(KERNEL_CODE, 0x48, 0x0f, 0x07);
        MachineState k = g.state(0);
        k.setRip(kva(KERNEL_CODE)).setGpr(RCX, 0x0000_8000_0000_0000L);
        Step step = machine(k).step();
        assertEquals(13, step.deliveries().get(0).vector());
        assertEquals(0, k.cpl(), "the #GP is taken in ring 0");
    }

    @Test
    void popfAtCpl3KeepsIfAndIopl() {
        g.load(USER_CODE_PA, 0x9d);   // popfq
        MachineState s = g.state(3);
        s.setRip(USER_CODE).setRflags(0x202);
        long rsp = s.gpr(RSP);
        g.ram.write(USER_STACK_PA + (rsp - (USER_STACK_TOP - 0x10000)), 8, 0x3001);   // IOPL 3, IF 0, CF
        machine(s).step();
        assertEquals(0x203, s.rflags());

        MachineState t = g.state(3);
        t.setRip(USER_CODE).setRflags(0x3202);   // IOPL 3: CPL 3 may change IF, still not IOPL
        long trsp = t.gpr(RSP);
        g.ram.write(USER_STACK_PA + (trsp - (USER_STACK_TOP - 0x10000)), 8, 0x1001);
        machine(t).step();
        assertEquals(0x3003, t.rflags());
    }

    @Test
    void wrpkruNeedsEcxAndEdxZero() {
        g.gate(13, HANDLER, 0, 0xE, 0);
        g.load(KERNEL_CODE, 0x0f, 0x01, 0xef, 0x0f, 0x01, 0xef);   // wrpkru; wrpkru
        MachineState s = g.state(0);
        s.setRip(kva(KERNEL_CODE)).setGpr(RAX, 0x55555554L).setGpr(RCX, 0).setGpr(RDX, 0);
        SystemMachine m = machine(s);
        m.step();
        assertEquals(kva(KERNEL_CODE) + 3, s.rip());
        s.setGpr(RDX, 1);
        Step step = m.step();
        assertEquals(List.of(13), step.deliveries().stream().map(Step.Delivery::vector).toList(), step.describe());
        assertEquals(HANDLER, s.rip());
    }

    @Test
    void fxsaveAndFxrstorRoundTripTheSseState() {
        g.load(KERNEL_CODE, 0x0f, 0xae, 0x00, 0x0f, 0xae, 0x08);   // fxsave [rax]; fxrstor [rax]
        MachineState s = g.state(0);
        s.setRip(kva(KERNEL_CODE)).setGpr(RAX, kva(0x60000));
        s.set(Loc.MXCSR, 0x1fa0).set(Loc.XMM0 + 5, 0xabcdef).set(Loc.XMM0 + 30, 42);
        SystemMachine m = machine(s);
        m.step();
        assertEquals(0x1fa0, g.ram.read(0x60000 + 24, 4));
        assertEquals(0xabcdef, g.ram.read(0x60000 + 160 + 16 * 2 + 8, 8));
        assertEquals(42, g.ram.read(0x60000 + 160 + 16 * 15, 8));
        s.set(Loc.MXCSR, 0).set(Loc.XMM0 + 5, 0).set(Loc.XMM0 + 30, 0);
        m.step();
        assertEquals(0x1fa0, s.get(Loc.MXCSR));
        assertEquals(0xabcdef, s.get(Loc.XMM0 + 5));
        assertEquals(42, s.get(Loc.XMM0 + 30));
    }

    @Test
    void exceptionWithoutTablesIsAClearError() {
        g.load(USER_CODE_PA, 0x0f, 0x0b);
        MachineState s = g.state(3);
        s.setRip(USER_CODE);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> new SystemMachine(s, g.ram, ENV, SystemTables.NONE).step());
        assertTrue(e.getMessage().contains("no SystemTables"), e.getMessage());
    }

    @Test
    void fiveLevelGuestSteps100kInstructionsOneAtATime() {
        SyntheticGuest g5 = new SyntheticGuest(5);
        g5.load(USER_CODE_PA, 0xb9, 0x50, 0xc3, 0x00, 0x00,   // mov ecx, 50000
                0x48, 0xff, 0xc9,                             // dec rcx
                0x75, 0xfb,                                   // jnz -5
                0x90);                                        // nop
        MachineState s = g5.state(3);
        s.setRip(USER_CODE);
        SystemMachine m = new SystemMachine(s, g5.ram, ENV, g5.tables());
        assertEquals(57, m.pagingFormat().linearBits());
        long start = System.nanoTime();
        int steps = 0;
        while (s.rip() != USER_CODE + 10) {
            assertFalse(m.step().faulted());
            steps++;
        }
        long micros = (System.nanoTime() - start) / 1000;
        System.out.printf("SystemMachine: %d single steps in %d ms (%.2f us/step)%n", steps, micros / 1000, micros / (double) steps);
        assertEquals(100_001, steps);
        assertEquals(0, s.gpr(RCX));
        assertEquals(1, s.get(Loc.ZF));
    }

    @Test
    void badGatesRaiseGpOrNpWithTheIdtBitAndExtForCpuExceptions() {
        g.gate(13, HANDLER, 0, 0xE, 0);
        g.gate(11, HANDLER + 0x10, 0, 0xE, 0);
        g.gate(6, HANDLER + 0x20, 0, 0xE, 0);
        g.ram.write(IDT + 6 * 16, 8, g.ram.read(IDT + 6 * 16, 8) & ~(0xFL << 40) | 0x5L << 40);   // a task gate: invalid
        g.load(USER_CODE_PA, 0x0f, 0x0b);   // ud2
        MachineState s = g.state(3);
        s.setRip(USER_CODE);
        Step ud = machine(s).step();
        assertEquals(List.of(13), ud.deliveries().stream().map(Step.Delivery::vector).toList());
        assertEquals(6 * 8 + 2 + 1, ud.deliveries().get(0).errorCode(), "index, IDT bit, EXT (a CPU exception)");

        g.gate(0x81, HANDLER + 0x30, 0, 0xE, 3);
        g.ram.write(IDT + 0x81 * 16, 8, g.ram.read(IDT + 0x81 * 16, 8) & ~(1L << 47));
        g.load(USER_CODE_PA, 0xcd, 0x81);   // int 0x81 through a not-present gate
        MachineState t = g.state(3);
        t.setRip(USER_CODE);
        Step np = machine(t).step();
        assertEquals(List.of(11), np.deliveries().stream().map(Step.Delivery::vector).toList());
        assertEquals(0x81 * 8 + 2, np.deliveries().get(0).errorCode(), "no EXT for int n");
        assertEquals(USER_CODE, stackWord(t, 1), "the #NP returns to the int instruction");
    }
}
