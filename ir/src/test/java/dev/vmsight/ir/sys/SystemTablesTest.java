package dev.vmsight.ir.sys;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class SystemTablesTest {

    @Test
    void parsesQemuInfoRegisters() {
        // QEMU 7.2 HMP 'info registers' at reset (captured on this machine: -S -machine pc)
        String reset = "CS =f000 ffff0000 0000ffff 00009b00\r\nTR =0000 00000000 0000ffff 00008b00\r\n"
                + "GDT=     00000000 0000ffff\r\nIDT=     00000000 0000ffff\r\n";
        assertEquals(new SystemTables(0, 0xffff, 0, 0xffff, 0), SystemTables.fromInfoRegisters(reset));
        // long mode: 64-bit bases (the layout Linux's cpu_entry_area gives)
        String longMode = "TR =0040 fffffe0000003000 00004087 00008900 DPL=0 TSS64-avl\n"
                + "GDT=     fffffe0000001000 0000007f\nIDT=     fffffe0000000000 00000fff\n";
        SystemTables t = SystemTables.fromInfoRegisters(longMode);
        assertEquals(0xfffffe0000001000L, t.gdtBase());
        assertEquals(0x7f, t.gdtLimit());
        assertEquals(0xfffffe0000000000L, t.idtBase());
        assertEquals(0xfff, t.idtLimit());
        assertEquals(0xfffffe0000003000L, t.tssBase());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SystemTables.fromInfoRegisters("RAX=0000000000000000"));
        assertTrue(e.getMessage().contains("GDT="), e.getMessage());
    }
}
