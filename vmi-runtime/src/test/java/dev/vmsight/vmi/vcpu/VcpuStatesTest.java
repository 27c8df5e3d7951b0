package dev.vmsight.vmi.vcpu;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The HMP parser on text captured from a lab guest (QEMU 7.2, Debian 6.1.0-56, paused in the idle
 * loop; info-registers-qemu72-6.1.0-56.txt): the values below were read off that text by hand.
 * guests/…/vcpu/GuestVcpuStatesTest cross-checks the same capture against the gdbstub's reply.
 */
class VcpuStatesTest {

    private static String captured() throws IOException {
        try (InputStream in = VcpuStatesTest.class.getResourceAsStream("info-registers-qemu72-6.1.0-56.txt")) {
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        }
    }

    @Test
    void parsesCapturedInfoRegisters() throws IOException {
        VcpuState s = VcpuStates.fromHmp(captured(), "HMP");
        assertEquals(0x1ad40L, s.get("rax"));
        assertEquals(0xffffc900005abd80L, s.get("rcx"));
        assertEquals(0x4000000000000000L, s.get("rdx"));
        assertEquals(0x23000L, s.get("r8"));
        assertEquals(0xffffffff82a1a110L, s.get("r14"));
        assertEquals(0xffffffff82a03e98L, s.rsp());
        assertEquals(0x246L, s.get("rflags"));
        assertEquals(0x10L, s.get("cs"));
        assertEquals(0x18L, s.get("ss"));
        assertEquals(0xffff88800f200000L, s.get("gs_base"));
        assertEquals(0L, s.get("fs_base"));
        assertEquals(0x40L, s.get("tr"));
        assertEquals(0xfffffe0000003000L, s.get("tr_base"));
        assertEquals(0x4087L, s.get("tr_limit"));
        assertEquals(0xfffffe0000001000L, s.get("gdt_base"));
        assertEquals(0x7fL, s.get("gdt_limit"));
        assertEquals(0xfffffe0000000000L, s.get("idt_base"));
        assertEquals(0xfffL, s.get("idt_limit"));
        assertEquals(0x80050033L, s.get("cr0"));
        assertEquals(0x6106000L, s.cr3());
        assertEquals(0x6f0L, s.cr4());
        assertEquals(0xd01L, s.efer());
        assertEquals(0x1f80L, s.get("mxcsr"));
        assertEquals(List.of("kernel_gs_base"), s.missing(), "HMP does not print the swapped GS base");
        assertFalse(s.registers().containsKey("dr0"), "debug registers are not vCPU state we use");
    }

    @Test
    void multiCpuTextIsSplitAndMissingRegistersAreNamed() throws IOException {
        String one = captured();
        String two = one + one.replace("CPU#0", "CPU#1").replace("RAX=000000000001ad40", "RAX=0000000000000007");
        assertThrows(IllegalArgumentException.class, () -> VcpuStates.fromHmp(two, "HMP -a"));
        List<String> blocks = VcpuStates.hmpCpuBlocks(two);
        assertEquals(2, blocks.size());
        assertEquals(7, VcpuStates.fromHmp(blocks.get(1), "cpu1").get("rax"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> VcpuStates.fromHmp(one.replaceAll("(?m)^CR0=.*$", ""), "HMP of guest x"));
        assertTrue(e.getMessage().contains("HMP of guest x") && e.getMessage().contains("cr0"), e.getMessage());
    }

    @Test
    void stateKeepsCanonicalOrderAndNamesWhatIsMissing() {
        VcpuState s = new VcpuState("gdbstub", Map.of("cr8", 1L, "rip", 2L, "rax", 3L));
        assertEquals(List.of("rax", "rip", "cr8"), List.copyOf(s.registers().keySet()));
        assertTrue(s.missing().contains("cr3"));
        var e = assertThrows(java.util.NoSuchElementException.class, s::cr3);
        assertTrue(e.getMessage().contains("gdbstub has no register cr3"), e.getMessage());
        VcpuState merged = s.withMissingFrom(new VcpuState("HMP", Map.of("rip", 99L, "gdt_base", 5L)));
        assertEquals(2L, merged.rip(), "the receiver's values win");
        assertEquals(5L, merged.get("gdt_base"));
        assertThrows(IllegalArgumentException.class, () -> new VcpuState("x", Map.of("RAX", 1L)));
    }
}
