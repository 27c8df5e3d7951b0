package dev.vmsight.ir.interp;

import org.junit.jupiter.api.Test;

import java.util.HexFormat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Whole programs through decoder, lifter, block cache and interpreter, checked against Java. */
class InterpreterProgramTest {
    /** checksum / strlen / memcpy loops (the benchmark's program; asm in benchmarks GuestPrograms). */
    private static final String LOOPS = "31c931c00fb6140e01d0d1c048ffc14881f90001000072ec4889f7803f00740548ffc7ebf631c9"
            + "488b14ce488994ce0008000048ffc14883f94075ebebc2";
    private static final long CODE = 0x40_0000L;
    private static final long DATA = 0x60_0000L;

    @Test
    void loopsComputeWhatJavaComputes() {
        byte[] code = HexFormat.of().parseHex(LOOPS);
        PagedMemory mem = new PagedMemory().load(CODE, code).map(DATA, 0x2000);
        byte[] data = new byte[256];
        for (int i = 0; i < 200; i++) {
            data[i] = (byte) (1 + (i * 7) % 250);
            mem.write(DATA + i, 1, data[i]);
        }
        MachineState st = new MachineState().setRip(CODE).setGpr(6, DATA).setRflags(0x202);
        Interpreter in = Interpreter.userMode(mem, CodeSource.decoding(mem));
        long jmpOuter = CODE + code.length - 2;
        for (int round = 0; round < 3; round++) {   // later rounds run from the block cache
            long n = in.run(st, jmpOuter, 1_000_000);
            assertTrue(n > 256 * 6, "ran only " + n + " instructions");
            int sum = 0;
            for (int i = 0; i < 256; i++) {
                sum = Integer.rotateLeft(sum + (data[i] & 0xFF), 1);
            }
            assertEquals(sum & 0xFFFF_FFFFL, st.gpr(0), "checksum in eax");
            assertEquals(DATA + 200, st.gpr(7), "strlen end in rdi");
            for (int q = 0; q < 64; q++) {
                assertEquals(mem.read(DATA + 8L * q, 8), mem.read(DATA + 0x800 + 8L * q, 8), "memcpy qword " + q);
            }
            assertEquals(64, st.gpr(1));
            st.setRip(CODE);
        }
    }

    @Test
    void divisionByZeroIsAnExplicitDivideError() {
        PagedMemory mem = new PagedMemory().load(CODE, HexFormat.of().parseHex("48f7f1"));   // div rcx
        MachineState st = new MachineState().setRip(CODE).setGpr(0, 10).setGpr(1, 0);
        CpuFault f = assertThrows(CpuFault.class, () -> Interpreter.userMode(mem, CodeSource.decoding(mem)).run(st, -1, 1));
        assertEquals(CpuFault.DE, f.vector());
        assertEquals(CODE, st.rip(), "RIP stays at the faulting instruction");
        assertEquals(10, st.gpr(0), "rax untouched");
    }

    @Test
    void unmappedCodeIsAPageFaultWithTheAddress() {
        PagedMemory mem = new PagedMemory();
        MachineState st = new MachineState().setRip(0x1234_5000L);
        CpuFault f = assertThrows(CpuFault.class, () -> Interpreter.userMode(mem, CodeSource.decoding(mem)).run(st, -1, 1));
        assertEquals(CpuFault.PF, f.vector());
        assertEquals(0x1234_5000L, f.address());
    }

    @Test
    void aFaultHandlerCanResumeElsewhere() {
        // ud2; inc rax; ud2 ... : the handler skips each ud2 (2 bytes) and counts it
        PagedMemory mem = new PagedMemory().load(CODE, HexFormat.of().parseHex("0f0b48ffc00f0b48ffc0"));
        int[] faults = {0};
        Interpreter in = new Interpreter(mem, CodeSource.decoding(mem), Environment.NONE, SystemLayer.USER_MODE,
                (fault, state) -> {
                    assertEquals(CpuFault.UD, fault.vector());
                    faults[0]++;
                    state.setRip(state.rip() + 2);
                });
        MachineState st = new MachineState().setRip(CODE);
        in.run(st, CODE + 10, 100);
        assertEquals(2, faults[0]);
        assertEquals(2, st.gpr(0));
    }

    @Test
    void theBlockCacheServesOldCodeUntilInvalidated() {
        PagedMemory mem = new PagedMemory().load(CODE, HexFormat.of().parseHex("48ffc0"));   // inc rax
        Interpreter in = Interpreter.userMode(mem, CodeSource.decoding(mem));
        MachineState st = new MachineState().setRip(CODE);
        in.run(st, CODE + 3, 10);
        mem.load(CODE, HexFormat.of().parseHex("48ffc8"));   // dec rax
        in.run(st.setRip(CODE), CODE + 3, 10);
        assertEquals(2, st.gpr(0), "cached block still increments");
        in.invalidate();
        in.run(st.setRip(CODE), CODE + 3, 10);
        assertEquals(1, st.gpr(0), "after invalidate() the new code runs");
    }
}
