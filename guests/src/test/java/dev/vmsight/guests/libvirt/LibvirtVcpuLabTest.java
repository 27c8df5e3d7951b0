package dev.vmsight.guests.libvirt;

import static org.junit.jupiter.api.Assertions.*;

import dev.vmsight.guests.GuestConfig;
import dev.vmsight.guests.LabLayout;
import dev.vmsight.vmi.paging.AddressSpace;
import dev.vmsight.vmi.phys.CachingPhysicalMemory;
import dev.vmsight.vmi.phys.ElfCore;
import dev.vmsight.vmi.phys.PhysicalMemories;
import dev.vmsight.vmi.phys.PhysicalMemory;
import dev.vmsight.vmi.vcpu.VcpuState;
import dev.vmsight.vmi.vcpu.VcpuStates;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The libvirt vCPU-state provider (HMP through qemuMonitorCommand) against the domain's own
 * memory-only ELF core, and AddressSpace over memoryPeek against AddressSpace over the shared RAM
 * file, with the domain paused.
 */
@Tag("lab")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(300)
class LibvirtVcpuLabTest {
    @TempDir Path dir;
    private LibvirtGuest guest;

    @BeforeAll
    void boot() {
        LabLayout lab = LabLayout.locate();
        LibvirtLab.libvirtdUp(lab);
        GuestConfig config = lab.defaultConfig("vmsight-lvvcpu-" + ProcessHandle.current().pid());
        guest = LibvirtGuest.start(config, LibvirtLab.URI);
    }

    @AfterAll
    void destroy() {
        if (guest != null) guest.close(); // destroys and undefines the domain
    }

    @Test
    void hmpThroughLibvirtMatchesTheCoreAndPeekMatchesTheRamFile() {
        guest.pause();
        try {
            VcpuState hmp = VcpuStates.fromLibvirt(guest.domain(), 0);
            assertEquals(java.util.List.of("kernel_gs_base"), hmp.missing());
            Path core = dir.resolve("guest.core");
            guest.dumpElf(core);
            try (ElfCore elf = PhysicalMemories.elfCore(core)) {
                VcpuState fromCore = VcpuStates.fromCore(elf.cpus().get(0), "ELF core");
                int compared = 0;
                for (String name : hmp.registers().keySet()) {
                    if (fromCore.find(name).isPresent()) {
                        assertEquals(fromCore.get(name), hmp.get(name), name + ": libvirt HMP vs the ELF core note");
                        compared++;
                    }
                }
                assertTrue(compared >= 30, compared + " registers compared");
            }
            assertThrows(IllegalArgumentException.class, () -> VcpuStates.fromLibvirt(guest.domain(), 1), "one vCPU only");
            try (PhysicalMemory peek = new CachingPhysicalMemory(guest.physicalMemory(), 4096);
                 PhysicalMemory file = guest.ramFileMemory()) {
                AddressSpace viaPeek = AddressSpace.of(peek, hmp), viaFile = AddressSpace.of(file, hmp);
                for (String reg : java.util.List.of("rip", "rsp", "gdt_base", "idt_base", "gs_base")) {
                    // the start of the page the register points into: rsp near the top of the kernel stack would
                    // otherwise run into the unmapped guard page above it (VMAP_STACK)
                    long va = hmp.get(reg) & ~0xFFFL;
                    assertArrayEquals(viaFile.readBytes(va, 512), viaPeek.readBytes(va, 512), reg);
                }
            }
        } finally {
            guest.resume();
        }
    }
}
