package dev.vmsight.guests.vcpu;

import static org.junit.jupiter.api.Assertions.*;

import dev.vmsight.guests.gdb.X86Registers;
import dev.vmsight.vmi.vcpu.VcpuState;
import dev.vmsight.vmi.vcpu.VcpuStates;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Two providers on one moment of a real guest: the gdbstub's {@code g} reply (gdb-g.hex) and HMP
 * {@code info registers} (info-registers.txt), captured from a lab guest (QEMU 7.2, Debian
 * 6.1.0-56) held stopped by the gdbstub between the two requests. Every register both show must agree.
 */
class GuestVcpuStatesTest {

    private static String resource(String name) throws IOException {
        try (InputStream in = GuestVcpuStatesTest.class.getResourceAsStream(name)) {
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII).strip();
        }
    }

    @Test
    void gdbstubAndHmpAgreeOnACapturedStop() throws IOException {
        VcpuState gdb = GuestVcpuStates.fromGdb(X86Registers.parseHex(resource("gdb-g.hex")));
        VcpuState hmp = VcpuStates.fromHmp(resource("info-registers.txt"), "HMP");
        int compared = 0;
        for (String name : VcpuState.NAMES) {
            if (gdb.find(name).isPresent() && hmp.find(name).isPresent()) {
                assertEquals(hmp.get(name), gdb.get(name), name);
                compared++;
            }
        }
        assertTrue(compared >= 30, compared + " registers compared");
        assertEquals(gdb.get("mxcsr"), hmp.get("mxcsr"));
        assertEquals(List.of("gdt_base", "gdt_limit", "idt_base", "idt_limit", "tr_base"), gdb.missing(),
                "the gdbstub does not show the descriptor tables");
        VcpuState full = gdb.withMissingFrom(hmp);
        assertEquals(List.of(), full.missing());
        assertEquals(0xfffffe0000001000L, full.get("gdt_base"));
        assertEquals(0x6106000L, full.cr3());
    }
}
