package dev.vmsight.ir.interp;

import dev.vmsight.ir.uop.Loc;
import org.junit.jupiter.api.Test;

import java.util.HexFormat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** System and environment µops: privilege checks, MSRs held as locations, values from the Environment. */
class SystemAndEnvironmentTest {
    private static final long CODE = 0x1000;

    private static final class Recorded implements Environment {
        @Override public long rdtsc() { return 0x1122_3344_5566_7788L; }
        @Override public long[] cpuid(long leaf, long subleaf) { return new long[]{leaf, subleaf, 3, 4}; }
        @Override public long rdmsr(long msr) { return 0xABCDL; }
        @Override public long portIn(long port, int size) { return 0x5A; }
        @Override public long rdrand(int size) { return 42; }
        @Override public long rdpkru() { return 0x5555_5554L; }
    }

    private static MachineState run(String hex, MachineState st) {
        PagedMemory mem = new PagedMemory().load(CODE, HexFormat.of().parseHex(hex));
        Interpreter in = new Interpreter(mem, CodeSource.decoding(mem), new Recorded(), SystemLayer.USER_MODE, FaultHandler.RETHROW);
        in.run(st.setRip(CODE), CODE + hex.length() / 2, 10);
        return st;
    }

    @Test
    void rdtscSplitsTheEnvironmentValueIntoEdxEax() {
        MachineState st = run("0f31", new MachineState().setGpr(0, -1).setGpr(2, -1));
        assertEquals(0x5566_7788L, st.gpr(0));
        assertEquals(0x1122_3344L, st.gpr(2));
    }

    @Test
    void rdpkruTakesPkruFromTheEnvironmentAndZeroesEdx() {
        MachineState st = run("31c9" + "0f01ee", new MachineState().setGpr(0, -1).setGpr(2, -1));   // xor ecx,ecx; rdpkru
        assertEquals(0x5555_5554L, st.gpr(0));
        assertEquals(0, st.gpr(2));
    }

    @Test
    void anEnvironmentWithoutPkruRefusesRdpkru() {
        Environment none = new Environment() {
            @Override public long rdtsc() { return 0; }
            @Override public long[] cpuid(long leaf, long subleaf) { return new long[4]; }
            @Override public long rdmsr(long msr) { return 0; }
            @Override public long portIn(long port, int size) { return 0; }
            @Override public long rdrand(int size) { return 0; }
        };
        IllegalStateException e = assertThrows(IllegalStateException.class, none::rdpkru);
        assertTrue(e.getMessage().startsWith("rdpkru needs a value"), e.getMessage());
    }

    @Test
    void cpuidTakesLeafAndSubleafFromEaxEcx() {
        MachineState st = run("0fa2", new MachineState().setGpr(0, 0xFFFF_FFFF_0000_0007L).setGpr(1, 1));
        assertEquals(7, st.gpr(0));
        assertEquals(1, st.gpr(3));
        assertEquals(3, st.gpr(1));
        assertEquals(4, st.gpr(2));
    }

    @Test
    void swapgsAndRdmsrAtRingZero() {
        MachineState st = new MachineState();
        st.set(Loc.GS_BASE, 0x1111).set(Loc.KERNEL_GS_BASE, 0x2222).set(Loc.LSTAR, 0xFFFF_FFFF_8100_0000L);
        st.setGpr(1, 0xC000_0082L);   // ecx = LSTAR
        run("0f01f8" + "0f32", st);   // swapgs; rdmsr
        assertEquals(0x2222, st.get(Loc.GS_BASE));
        assertEquals(0x1111, st.get(Loc.KERNEL_GS_BASE));
        assertEquals(0x8100_0000L, st.gpr(0));
        assertEquals(0xFFFF_FFFFL, st.gpr(2));
    }

    @Test
    void unknownMsrComesFromTheEnvironmentAndWrmsrOfAKnownOneIsState() {
        MachineState st = new MachineState().setGpr(1, 0x10);   // TSC MSR: not a location
        run("0f32", st);
        assertEquals(0xABCDL, st.gpr(0));
        st = new MachineState().setGpr(1, 0xC000_0100L).setGpr(0, 0x5000).setGpr(2, 0x7);
        run("0f30", st);   // wrmsr FS_BASE
        assertEquals(0x7_0000_5000L, st.get(Loc.FS_BASE));
    }

    @Test
    void privilegedInstructionsFaultInUserMode() {
        MachineState st = new MachineState().set(Loc.SEL0 + 1, 0x33).set(Loc.IF, 1);
        CpuFault f = assertThrows(CpuFault.class, () -> run("fa", st));   // cli
        assertEquals(CpuFault.GP, f.vector());
        assertEquals(1, st.get(Loc.IF));
        MachineState k = run("fa", new MachineState().set(Loc.IF, 1));
        assertEquals(0, k.get(Loc.IF));
    }

    @Test
    void fsOverrideAddsTheFsBase() {
        // mov rax, QWORD PTR fs:[0x28]
        PagedMemory mem = new PagedMemory().load(CODE, HexFormat.of().parseHex("64488b042528000000"));
        mem.map(0x7000, 0x1000).write(0x7028, 8, 0xC0FFEEL);
        MachineState st = new MachineState().setRip(CODE).set(Loc.FS_BASE, 0x7000);
        Interpreter.userMode(mem, CodeSource.decoding(mem)).run(st, -1, 1);
        assertEquals(0xC0FFEEL, st.gpr(0));
    }

    @Test
    void syscallNeedsTheSystemLayer() {
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class, () -> run("0f05", new MachineState()));
        assertTrue(e.getMessage().contains("syscall"), e.getMessage());
    }
}
