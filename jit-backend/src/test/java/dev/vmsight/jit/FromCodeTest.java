package dev.vmsight.jit;

import dev.vmsight.ir.interp.CodeSource;
import dev.vmsight.ir.interp.Environment;
import dev.vmsight.ir.interp.FaultHandler;
import dev.vmsight.ir.interp.Interpreter;
import dev.vmsight.ir.interp.MachineState;
import dev.vmsight.ir.interp.PagedMemory;
import dev.vmsight.ir.interp.SystemLayer;
import dev.vmsight.ir.uop.Loc;
import dev.vmsight.vmi.Budget;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.HexFormat;

import static org.junit.jupiter.api.Assertions.*;

/** Real loop code (checksum, strlen, memcpy; assembled with GNU as) found statically, compiled, run. */
class FromCodeTest {
    static final long CODE = 0x40_0000L, DATA = 0x60_0000L;
    /** the loops program of benchmarks' GuestPrograms (asm in its Javadoc), ending in jmp outer */
    static final byte[] LOOPS = HexFormat.of().parseHex("31c931c00fb6140e01d0d1c048ffc14881f90001000072ec4889f7803f00740548ffc7ebf631c9"
            + "488b14ce488994ce0008000048ffc14883f94075ebebc2");

    @Test
    void loopCodeAgreesWithTheInterpreterOnEveryLocationAndByte() {
        PagedMemory mem = new PagedMemory();
        mem.load(CODE, LOOPS);
        mem.map(DATA, 0x2000);
        for (int i = 0; i < 200; i++) {
            mem.write(DATA + i, 1, 1 + (i * 7) % 250);
        }
        byte[][] pages = new byte[2][4096];
        for (int p = 0; p < 2; p++) {
            for (int i = 0; i < 4096; i++) {
                pages[p][i] = (byte) mem.read(DATA + p * 4096L + i, 1);
            }
        }
        long end = CODE + LOOPS.length - 2;
        JitProgram program = JitProgram.fromCode(CodeSource.decoding(mem), CODE, end);
        assertEquals(19, program.instructions().size(), "2 + 6 (sum) + 1 + 4 (strlen) + 1 + 5 (copy)");

        MachineState st = new MachineState().setRip(CODE).setGpr(6, DATA).setRflags(0x202);
        long[] initial = new long[Loc.COUNT];
        for (int l = 0; l < Loc.COUNT; l++) {
            initial[l] = st.get(l);
        }
        Interpreter in = new Interpreter(mem, CodeSource.decoding(mem), Environment.NONE, SystemLayer.USER_MODE, FaultHandler.RETHROW);
        long steps = in.run(st, end, 100_000);
        assertEquals(end, st.rip());

        MonitorResult r = MonitorCompiler.compile(program).run(MonitorContext.of(initial,
                a -> ByteBuffer.wrap(pages[(int) ((a - DATA) >>> 12)]).asReadOnlyBuffer(), Budget.of(100_000, Duration.ofSeconds(5))));
        MonitorResult.Completed c = assertInstanceOf(MonitorResult.Completed.class, r);
        for (int l = 0; l < Loc.COUNT; l++) {
            assertEquals(st.get(l), c.state()[l], Loc.name(l));
        }
        for (long a = DATA; a < DATA + 0x2000; a += 8) {
            assertEquals(mem.read(a, 8), c.memory().read(a, 8), "memory at 0x" + Long.toHexString(a));
        }
        assertTrue(steps > 2000, "ran " + steps + " instructions");
        assertTrue(c.steps() >= 256 + 200 + 64 - 3, "each loop iteration is a budget step: " + c.steps());
    }

    @Test
    void indirectControlNeedsTraining() {
        PagedMemory mem = new PagedMemory();
        mem.load(CODE, new byte[]{(byte) 0xc3});   // ret
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> JitProgram.fromCode(CodeSource.decoding(mem), CODE, CODE + 100));
        assertTrue(e.getMessage().contains("0x400000") && e.getMessage().contains("training"), e.getMessage());
    }
}
