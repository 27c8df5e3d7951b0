package dev.vmsight.jit.run;

import dev.vmsight.jit.run.GuestSpec;
import static org.junit.jupiter.api.Assertions.*;

import dev.vmsight.guests.GuestException;
import dev.vmsight.vmi.vcpu.VcpuState;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Source selection without a guest: files, HMP text, refusals that name what was wrong. */
@Timeout(60)
class GuestSourcesTest {

    @TempDir
    Path dir;

    /** HMP text captured from a lab guest (vmi-runtime's test resource; QEMU 7.2, 6.1.0-56). */
    private static String capturedHmp() throws Exception {
        String root = System.getProperty("vmsight.root");
        assertNotNull(root, "system property vmsight.root is not set (Surefire sets it to the repository root)");
        return Files.readString(Path.of(root, "vmi-runtime/src/test/resources/dev/vmsight/vmi/vcpu/info-registers-qemu72-6.1.0-56.txt"));
    }

    private static String message(Runnable r) {
        return assertThrows(GuestException.class, r::run).getMessage();
    }

    @Test
    void ramFileWithHmpTextGivesMemoryAndRegisters() throws Exception {
        Path ram = dir.resolve("guest.ram");
        ByteBuffer page = ByteBuffer.allocate(64 * 4096).order(ByteOrder.LITTLE_ENDIAN);
        page.putLong(0x3000, 0x1122_3344_5566_7788L);
        Files.write(ram, page.array());
        String hmp = capturedHmp();
        Path vcpu = dir.resolve("regs.txt");
        Files.writeString(vcpu, hmp);
        try (GuestSource s = GuestSources.open(new GuestSpec.RamFile(ram, null, vcpu), 0)) {
            assertFalse(s.live());
            assertEquals(0x1122_3344_5566_7788L, s.memory().readLong(0x3000));
            VcpuState want = GuestSources.hmpCpu(hmp, 0, "expected");
            assertEquals(want.cr3(), s.vcpu().cr3());
            assertEquals(want.rip(), s.vcpu().rip());
            // the captured text's own values, not only self-consistency
            assertTrue(hmp.contains(String.format("RIP=%016x", s.vcpu().rip())), hmp);
            assertTrue(s.describe().contains(ram.toString()), s.describe());
        }
    }

    @Test
    void missingAndMalformedInputsAreNamed() throws Exception {
        Path none = dir.resolve("absent.core");
        assertEquals("--dump " + none + " does not exist or is not a regular file",
                message(() -> GuestSources.open(new GuestSpec.Dump(none), 0)));

        Path notElf = dir.resolve("not-an-elf.core");
        Files.write(notElf, new byte[8192]);
        String m = assertThrows(RuntimeException.class, () -> GuestSources.open(new GuestSpec.Dump(notElf), 0)).getMessage();
        assertTrue(m.contains(notElf.toString()), m);

        Path odd = dir.resolve("odd.ram");
        Files.write(odd, new byte[5000]);
        Path regs = dir.resolve("regs.txt");
        Files.writeString(regs, capturedHmp());
        assertTrue(message(() -> GuestSources.open(new GuestSpec.RamFile(odd, null, regs), 0))
                .startsWith("RAM file " + odd + " is 5000 bytes, not a whole number of 4 KiB pages"));

        Path ram = dir.resolve("ok.ram");
        Files.write(ram, new byte[4096]);
        assertTrue(message(() -> GuestSources.open(new GuestSpec.RamFile(ram, null, null), 0)).contains("needs the registers too"));

        Path garbage = dir.resolve("garbage.txt");
        Files.writeString(garbage, "this is not HMP output\n");
        String g = message(() -> GuestSources.open(new GuestSpec.RamFile(ram, null, garbage), 0));
        assertTrue(g.startsWith(garbage + ": unreadable HMP registers"), g);

        assertTrue(message(() -> GuestSources.open(new GuestSpec.RamFile(ram, null, regs), 3))
                .endsWith("has 1 vCPU(s), no vCPU 3"));

        Path noSocket = dir.resolve("no-qmp.sock");
        String q = message(() -> GuestSources.open(new GuestSpec.RamFile(ram, noSocket, null), 0));
        assertTrue(q.startsWith("cannot reach QMP at " + noSocket), q);
    }

    @Test
    void unreachableLibvirtIsOneClearErrorQuickly() {
        Path socket = dir.resolve("no-libvirtd.sock");
        String uri = "qemu+unix:///system?socket=" + socket;
        long t0 = System.nanoTime();
        String m = message(() -> GuestSources.open(new GuestSpec.Libvirt(uri, "nosuchdomain"), 0));
        assertTrue(m.contains(uri), m);
        assertTrue(Duration.ofNanos(System.nanoTime() - t0).toSeconds() < 20, "libvirt refusal took too long");
    }

    @Test
    void labWithoutARunningGuestSaysHowToStartOne() {
        String m = message(() -> GuestSources.open(new GuestSpec.Lab(dev.vmsight.guests.LabLayout.locate(), "no-such-lab-guest"), 0));
        assertTrue(m.contains("no lab guest 'no-such-lab-guest' is running"), m);
    }
}
