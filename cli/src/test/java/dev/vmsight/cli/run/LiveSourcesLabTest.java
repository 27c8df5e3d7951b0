package dev.vmsight.cli.run;

import dev.vmsight.jit.run.GuestSource;
import dev.vmsight.jit.run.GuestSources;
import dev.vmsight.jit.run.KernelCodeCheck;
import dev.vmsight.jit.run.GuestSpec;

import dev.vmsight.cli.CliRun.Run;
import static dev.vmsight.cli.CliRun.vmsight;

import static org.junit.jupiter.api.Assertions.*;

import dev.vmsight.cli.Labs;
import dev.vmsight.cli.Vmsight;
import dev.vmsight.guests.LabLayout;
import dev.vmsight.guests.gdb.GdbClient;
import dev.vmsight.vmi.paging.AddressSpace;
import dev.vmsight.vmi.phys.MemoryMap;
import dev.vmsight.vmi.phys.PhysicalMemories;
import dev.vmsight.vmi.phys.PhysicalMemory;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every source {@code vmsight run} accepts, against real guests booted with {@code vmsight lab boot}
 * (a QEMU process and a libvirt domain): {@code --lab}, {@code --shm FILE --qmp SOCKET},
 * {@code --dump FILE}, {@code --libvirt URI --domain NAME}. Oracles are the guest's own: its
 * /proc/version (qemu-ga) equals linux_banner read through the source's memory and the source's
 * CR3; the kernel code QEMU's own MMU shows (gdbstub memory reads) passes the kernel code check
 * through the source, and the same code at a slid address (a KASLR-like shift) fails it; a live
 * source holds the guest paused: jiffies (HZ=250) does not move while it is open and moves after.
 */
@Tag("lab")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 420)
class LiveSourcesLabTest {

    private static final String QEMU_NAME = "test-run-src";
    private static final String VIRT_NAME = "test-run-virt";
    private static final List<String> FUNCTIONS = List.of("__x64_sys_getpid", "__task_pid_nr_ns", "ktime_get_real_ts64",
            "strlen", "entry_SYSCALL_64", "do_syscall_64");

    @TempDir
    Path dir;

    private String version;
    private final Map<String, Long> symbols = new LinkedHashMap<>();
    /** Kernel code as QEMU's MMU shows it (gdbstub), per function address: the "trained" code. */
    private final Map<Long, byte[]> code = new LinkedHashMap<>();

    @BeforeAll
    void boot() throws Exception {
        if (System.getProperty("vmsight.root") == null) {
            fail("system property vmsight.root is not set (Surefire sets it to the repository root)");
        }
        Run boot = vmsight("lab", "boot", "--name", QEMU_NAME, "--procs", "3");
        assertEquals(0, boot.exit(), "lab boot (is the lab set up? scripts/setup.sh): " + boot.err());
        Run v = vmsight("lab", "exec", "--name", QEMU_NAME, "--", "/bin/cat", "/proc/version");
        assertEquals(0, v.exit(), v.err());
        version = v.out();
        StringBuilder pattern = new StringBuilder(" (jiffies|linux_banner");
        FUNCTIONS.forEach(f -> pattern.append('|').append(f));
        Run k = vmsight("lab", "exec", "--name", QEMU_NAME, "--", "/bin/grep", "-E", pattern + ")$", "/proc/kallsyms");
        assertEquals(0, k.exit(), k.err());
        for (String line : k.out().split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 3) symbols.putIfAbsent(f[2], Long.parseUnsignedLong(f[0], 16));
        }
        for (String s : List.of("jiffies", "linux_banner")) assertTrue(symbols.containsKey(s), s + " not in /proc/kallsyms: " + k.out());
        Path gdbSocket = Labs.layout().runDir(QEMU_NAME).resolve("gdb.sock");
        try (GdbClient gdb = GdbClient.connect(gdbSocket, Duration.ofSeconds(10))) {
            for (String f : FUNCTIONS) {
                Long a = symbols.get(f);
                assertNotNull(a, f + " not in /proc/kallsyms");
                code.put(a, gdb.readMemory(a, 48));
            }
        }  // detaching lets the guest run on
    }

    @AfterAll
    void stop() {
        vmsight("lab", "stop", "--name", QEMU_NAME);
        vmsight("lab", "stop", "--name", VIRT_NAME);
    }

    /** The checks every source must pass; returns jiffies as read through it. */
    private long check(GuestSource source) {
        AddressSpace space = AddressSpace.of(source.memory(), source.vcpu());
        byte[] want = version.getBytes(StandardCharsets.US_ASCII);
        String banner = new String(space.readBytes(symbols.get("linux_banner"), want.length), StandardCharsets.US_ASCII);
        assertEquals(version, banner, source + ": linux_banner vs the guest's /proc/version");

        KernelCodeCheck.Match m = KernelCodeCheck.verify(code, space, source.describe());
        assertEquals(new KernelCodeCheck.Match(FUNCTIONS.size(), 48L * FUNCTIONS.size()), m, source.describe());

        Map<Long, byte[]> slid = new LinkedHashMap<>();
        code.forEach((a, b) -> slid.put(a + 0x20_0000, b));
        var e = assertThrows(KernelCodeCheck.KernelMismatchException.class, () -> KernelCodeCheck.verify(slid, space, source.describe()));
        assertTrue(slid.containsKey(e.address()), e.getMessage());
        return space.readLong(symbols.get("jiffies"));
    }

    private long jiffiesAfter(GuestSource source) throws InterruptedException {
        Thread.sleep(400);  // 100 ticks at HZ=250 if the guest ran
        return AddressSpace.of(source.memory(), source.vcpu()).readLong(symbols.get("jiffies"));
    }

    /** jiffies through the RAM file without pausing (the guest runs), with the registers a closed source gave. */
    private long jiffiesLive(Path ramFile, GuestSource closed) {
        try (PhysicalMemory ram = PhysicalMemories.ramFile(ramFile, MemoryMap.identity(sizeOf(ramFile)))) {
            return AddressSpace.of(ram, closed.vcpu()).readLong(symbols.get("jiffies"));
        }
    }

    private static long sizeOf(Path p) {
        try {
            return Files.size(p);
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void labSourcePausesAndReadsTheGuest() throws Exception {
        GuestSource s = GuestSources.open(new GuestSpec.Lab(dev.vmsight.guests.LabLayout.locate(), QEMU_NAME), 0);
        long before;
        try {
            assertTrue(s.live());
            before = check(s);
            assertEquals(before, jiffiesAfter(s), "jiffies moved while the --lab source was open: the guest was not paused");
        } finally {
            s.close();
        }
        Thread.sleep(400);
        Path ram = Path.of("/dev/shm", "vmsight-" + QEMU_NAME + ".ram");
        assertNotEquals(before, jiffiesLive(ram, s), "jiffies did not move after close: the guest was not resumed");
    }

    @Test
    void shmWithQmpPausesAndReadsTheGuest() throws Exception {
        LabLayout lab = Labs.layout();
        Path ram = Path.of("/dev/shm", "vmsight-" + QEMU_NAME + ".ram");
        Path qmp = lab.runDir(QEMU_NAME).resolve("qmp.sock");
        GuestSource s = GuestSources.open(new GuestSpec.RamFile(ram, qmp, null), 0);
        long before;
        try {
            before = check(s);
            assertEquals(before, jiffiesAfter(s), "jiffies moved while the --shm --qmp source was open");
        } finally {
            s.close();
        }
        Thread.sleep(400);
        assertNotEquals(before, jiffiesLive(ram, s), "jiffies did not move after close: the guest was not resumed");
    }

    @Test
    void dumpReadsTheGuest() {
        Path core = dir.resolve("guest.core");
        Run d = vmsight("lab", "dump", "--name", QEMU_NAME, core.toString());
        assertEquals(0, d.exit(), d.err());
        try (GuestSource s = GuestSources.open(new GuestSpec.Dump(core), 0)) {
            assertFalse(s.live());
            check(s);
        }
    }

    @Test
    void libvirtDomainReadsTheGuestThroughMemoryPeek() throws Exception {
        Run boot = vmsight("lab", "boot", "--libvirt", "--name", VIRT_NAME, "--procs", "3");
        assertEquals(0, boot.exit(), "lab boot --libvirt (scripts/libvirtd-up.sh): " + boot.err());
        try {
            long t0 = System.nanoTime();
            GuestSource s = GuestSources.open(new GuestSpec.Libvirt("qemu:///system", VIRT_NAME, GuestSpec.LibvirtMemory.PEEK), 0);
            long before;
            try {
                assertTrue(s.live());
                assertTrue(s.describe().contains("virDomainMemoryPeek"), s.describe());
                // same build, same machine and CPU model, nokaslr: the code QEMU showed for the other guest must match
                before = check(s);
                assertEquals(before, jiffiesAfter(s), "jiffies moved while the libvirt source was open");
            } finally {
                s.close();
            }
            System.out.printf("libvirt source: open + checks + close in %.2f s%n", (System.nanoTime() - t0) / 1e9);
            Thread.sleep(400);
            long t1 = System.nanoTime();
            try (GuestSource file = GuestSources.open(new GuestSpec.Libvirt("qemu:///system", VIRT_NAME), 0)) {
                // a local file-backed domain: its RAM file, the same checks (and bytes) as through the peeks
                assertTrue(file.describe().contains("file-backed RAM"), file.describe());
                assertNotEquals(before, check(file), "jiffies did not move after close: the domain was not resumed");
            }
            System.out.printf("libvirt source through the domain's RAM file: open + checks + close in %.2f s%n", (System.nanoTime() - t1) / 1e9);
            Thread.sleep(400);
            try (GuestSource again = GuestSources.open(new GuestSpec.Lab(dev.vmsight.guests.LabLayout.locate(), VIRT_NAME), 0)) {
                // the RAM-file path of a libvirt lab domain passes the same checks, and the domain ran in between
                assertNotEquals(before, check(again), "jiffies did not move after close: the domain was not resumed");
            }
        } finally {
            vmsight("lab", "stop", "--name", VIRT_NAME);
        }
    }
}
