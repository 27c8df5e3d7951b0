package dev.vmsight.tracer.lockstep;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.vmsight.guests.gdb.X86Registers;
import dev.vmsight.ir.interp.MachineState;
import dev.vmsight.ir.uop.Loc;
import java.util.List;
import org.junit.jupiter.api.Test;

/** gdbstub's register order (rax rbx rcx rdx rsi rdi rbp rsp) against the x86 numbering, and the comparison. */
class RegisterMappingTest {
    private static final X86Registers QEMU = new X86Registers(
            0xA0, 0xB3, 0xC1, 0xD2, 0x56, 0x77, 0x85, 0x94,
            8, 9, 10, 11, 12, 13, 14, 15,
            0xffffffff81c00080L, 0x10246,
            0x10, 0x18, 0x2b, 0x2b, 0, 0,
            0x4a6380, 0xffff88800f600000L, 0x7f00, 0x80050033L, 0x7fff0000L, 0x4a6e000L, 0x3006f0, 0, 0xd01, 0x1f80);

    @Test
    void loadsEveryRegisterWhereTheInterpreterKeepsIt() {
        MachineState s = RegisterMapping.load(QEMU, new MachineState());
        assertEquals(0xA0, s.gpr(0));
        assertEquals(0xC1, s.gpr(1), "rcx is register 1");
        assertEquals(0xD2, s.gpr(2), "rdx is register 2");
        assertEquals(0xB3, s.gpr(3), "rbx is register 3");
        assertEquals(0x94, s.gpr(4), "rsp is register 4");
        assertEquals(0x85, s.gpr(5));
        assertEquals(0x56, s.gpr(6));
        assertEquals(0x77, s.gpr(7));
        assertEquals(1, s.get(Loc.RF));
        assertEquals(1, s.get(Loc.IF));
        assertEquals(1, s.get(Loc.ZF));
        assertEquals(0x2b, s.get(Loc.SEL0), "es");
        assertEquals(0x10, s.get(Loc.SEL0 + 1), "cs");
        assertEquals(0x18, s.get(Loc.SEL0 + 2), "ss");
        assertEquals(0, s.cpl());
        assertEquals(0x7f00, s.get(Loc.KERNEL_GS_BASE));
        assertEquals(0xd01, s.get(Loc.EFER));
        assertEquals(List.of(), RegisterMapping.compare(s, QEMU), "a loaded state equals its source");
    }

    @Test
    void reportsEachDifferingRegisterByName() {
        MachineState s = RegisterMapping.load(QEMU, new MachineState());
        s.setGpr(3, 0xB4);
        s.set(Loc.AF, 1);
        s.set(Loc.CR2, 0);
        assertEquals(List.of(new RegisterMapping.Difference("rbx", 0xB4, 0xB3),
                        new RegisterMapping.Difference("rflags", 0x10256, 0x10246),
                        new RegisterMapping.Difference("cr2", 0, 0x7fff0000L)),
                RegisterMapping.compare(s, QEMU));
    }
}
