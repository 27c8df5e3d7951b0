package dev.vmsight.jit;

import dev.vmsight.guests.GuestConfig;
import dev.vmsight.guests.LabLayout;
import dev.vmsight.guests.libvirt.LibvirtGuest;
import dev.vmsight.vmi.phys.CachingPhysicalMemory;
import dev.vmsight.vmi.phys.ElfCore;
import dev.vmsight.vmi.phys.PhysicalMemories;
import dev.vmsight.vmi.phys.PhysicalMemory;
import dev.vmsight.vmi.vcpu.VcpuState;
import dev.vmsight.vmi.vcpu.VcpuStates;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The same compiled kernel strlen against a libvirt domain through all three memory backends —
 * the shared RAM file, libvirt memoryPeek (cached per run) and the domain's memory-only ELF dump —
 * with CR3 from HMP through qemuMonitorCommand: every backend gives the guest's /proc/version.
 */
@Tag("lab")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 300)
class LibvirtLiveLabTest {
    @TempDir
    Path dir;
    private LabLayout lab;
    private LibvirtGuest guest;

    @BeforeAll
    void boot() throws Exception {
        lab = LabLayout.locate();
        try {
            lab.build(lab.pinnedKernel());
        } catch (RuntimeException e) {
            fail("the lab is not set up (run scripts/setup.sh): " + e.getMessage(), e);
        }
        Process p = new ProcessBuilder(lab.root().resolve("scripts/libvirtd-up.sh").toString()).redirectErrorStream(true).start();
        boolean done = p.waitFor(90, TimeUnit.SECONDS);
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!done) {
            p.destroyForcibly();
        }
        assertTrue(done && p.exitValue() == 0, "scripts/libvirtd-up.sh failed: " + out);
        GuestConfig config = lab.defaultConfig("vmsight-jit-" + ProcessHandle.current().pid());
        guest = LibvirtGuest.start(config, "qemu:///system");
    }

    @AfterAll
    void destroy() {
        if (guest != null) {
            guest.close();     // destroys and undefines the domain
        }
    }

    @Test
    void allThreeBackendsGiveTheGuestsOwnView() {
        long strlen = LiveGuestLabTest.symbol(guest, "strlen");
        long banner = LiveGuestLabTest.symbol(guest, "linux_banner");
        CompiledMonitor monitor = LiveGuestLabTest.kernelStrlen(lab, strlen);
        String version = guest.exec(Duration.ofSeconds(30), List.of("/bin/cat", "/proc/version")).stdout();
        guest.pause();
        try {
            VcpuState cpu = VcpuStates.fromLibvirt(guest.domain(), 0);
            try (PhysicalMemory file = guest.ramFileMemory()) {
                LiveGuestLabTest.check(monitor, file, cpu, banner, version, "libvirt RAM file");
            }
            try (PhysicalMemory peek = new CachingPhysicalMemory(guest.physicalMemory(), 4096)) {
                LiveGuestLabTest.check(monitor, peek, cpu, banner, version, "libvirt memoryPeek");
            }
            Path core = dir.resolve("domain.core");
            guest.dumpElf(core);
            try (ElfCore elf = PhysicalMemories.elfCore(core)) {
                LiveGuestLabTest.check(monitor, elf, cpu, banner, version, "virsh dump --memory-only");
            }
        } finally {
            guest.resume();
        }
    }
}
