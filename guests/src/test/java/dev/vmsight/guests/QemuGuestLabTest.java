package dev.vmsight.guests;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** One guest booted under QEMU TCG; the training programs, workload, pause/resume and dumps checked against it. */
@Tag("lab")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 120)
class QemuGuestLabTest {

    private static final int PROCS = 12;
    private static final Duration EXEC = Duration.ofSeconds(30);

    private QemuGuest guest;

    @BeforeAll
    void boot() {
        guest = QemuLauncher.start(QemuLab.config("qemu", PROCS));
    }

    @AfterAll
    void stop() {
        if (guest == null) return;
        long pid = guest.pid();
        guest.close();
        assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "QEMU PID " + pid + " still alive after close");
        assertFalse(Files.exists(guest.ramFile()), "RAM file left behind: " + guest.ramFile());
    }

    private String sh(String script) {
        return guest.exec(EXEC, List.of("/bin/sh", "-c", script)).stdoutOrThrow("sh -c '" + script + "'");
    }

    @ParameterizedTest
    @EnumSource(TrainingProgram.class)
    void trainingProgramAgreesWithTheGuest(TrainingProgram program) {
        TrainingProgramChecks.check(guest, program);
    }

    /** The workload launcher's cast, seen through the guest's own /proc. */
    @Test
    void workloadIsVisible() {
        Map<String, Long> roles = new HashMap<>();
        long sleepers = 0;
        for (String line : sh("cat /run/vmsight-workload").split("\n")) {
            String[] f = line.split(" ");
            long pid = Long.parseLong(f[1]);
            if (f[0].equals("sleeper")) {
                sleepers++;
                assertEquals(f[2], sh("cat /proc/" + pid + "/comm").strip(), "sleeper " + pid + "'s name");
                assertEquals("S", state(pid), "sleeper " + pid + " sleeps");
            } else {
                roles.put(f[0], pid);
            }
        }
        assertEquals(PROCS, sleepers, "vmsight.procs=" + PROCS + " sleepers");
        assertEquals(PROCS, Long.parseLong(sh("grep -l '^vmsleep-' /proc/[0-9]*/comm | wc -l").strip()),
                "processes named vmsleep-* in /proc");

        long threaded = roles.get("threaded");
        assertEquals(4, sh("ls /proc/" + threaded + "/task").strip().split("\\s+").length, "vmthreads: main + 3 threads");

        long zombie = roles.get("zombie");
        assertEquals("Z", state(zombie), "the zombie's state");
        assertEquals("vmzombie", sh("cat /proc/" + zombie + "/comm").strip());

        long nsInit = roles.get("pidns-init");
        String nspid = sh("grep NSpid /proc/" + nsInit + "/status").strip();
        assertEquals("NSpid:\t" + nsInit + "\t1", nspid, "vmns-init is PID 1 of a child PID namespace");
        assertNotEquals(sh("readlink /proc/1/ns/pid").strip(), sh("readlink /proc/" + nsInit + "/ns/pid").strip(),
                "vmns-init's PID namespace differs from init's");
    }

    /** The defaults: nokaslr (the kernel text at 0xffffffff81000000), one vCPU, 256 MiB in the RAM file. */
    @Test
    void defaultBootOptions() throws IOException {
        assertTrue(sh("cat /proc/cmdline").contains("nokaslr"));
        assertEquals("ffffffff81000000", sh("grep ' T _text$' /proc/kallsyms").split(" ")[0]);
        assertEquals("1", sh("grep -c ^processor /proc/cpuinfo").strip());
        assertEquals(256L << 20, Files.size(guest.ramFile()));
    }

    private String state(long pid) {
        String stat = sh("cat /proc/" + pid + "/stat");
        return stat.substring(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    }

    /** While paused the guest's clock stands still: its uptime advances far less than the host's 2 s. */
    @Test
    void pauseStopsTheGuestClock() throws InterruptedException {
        double before = uptime();
        long hostStart = System.nanoTime();
        guest.pause();
        try {
            assertEquals("paused", guest.runState());
            Thread.sleep(2000);
        } finally {
            guest.resume();
        }
        assertEquals("running", guest.runState());
        double after = uptime();
        double host = (System.nanoTime() - hostStart) / 1e9;
        assertTrue(host >= 2.0, "host waited " + host + " s");
        assertTrue(after - before < host - 1.5, "guest uptime advanced " + (after - before) + " s during a host interval of "
                + host + " s including a 2 s pause");
        assertTrue(after > before, "guest uptime moves again after resume");
    }

    private double uptime() {
        return Double.parseDouble(sh("cat /proc/uptime").split(" ")[0]);
    }

    /**
     * dump-guest-memory writes an ELF core whose PT_LOAD segments hold guest-physical memory: with
     * the guest paused, a segment's bytes equal the shared RAM file at the same physical address.
     */
    @Test
    void elfDumpMatchesTheRamFile() throws IOException {
        Path core = guest.runDir().resolve("test-dump.elf");
        guest.pause();
        try {
            guest.dumpElf(core);
            try (FileChannel dump = FileChannel.open(core); RandomAccessFile ram = new RandomAccessFile(guest.ramFile().toFile(), "r")) {
                ByteBuffer eh = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
                dump.read(eh, 0);
                assertEquals(0x464c457f, eh.getInt(0), "ELF magic");
                assertEquals(2, eh.get(4), "ELFCLASS64");
                assertEquals(4, eh.getShort(16), "ET_CORE");
                assertEquals(62, eh.getShort(18), "EM_X86_64");
                long phoff = eh.getLong(32);
                int phnum = eh.getShort(56) & 0xffff;
                long loaded = 0;
                boolean compared = false;
                boolean notes = false;
                for (int i = 0; i < phnum; i++) {
                    ByteBuffer ph = ByteBuffer.allocate(56).order(ByteOrder.LITTLE_ENDIAN);
                    dump.read(ph, phoff + 56L * i);
                    int type = ph.getInt(0);
                    if (type == 4) notes = true;
                    if (type != 1) continue;
                    long offset = ph.getLong(8), paddr = ph.getLong(24), size = ph.getLong(32);
                    // RAM segments; ROMs (the BIOS at 0xfffc0000) come as further PT_LOADs above it.
                    if (paddr + size <= guest.config().memoryMiB() * 1024L * 1024L) loaded += size;
                    // The kernel image is loaded at 16 MiB (nokaslr): compare 1 MiB there.
                    long at = 0x1000000;
                    if (at >= paddr && at + 0x100000 <= paddr + size && at + 0x100000 <= ram.length()) {
                        ByteBuffer fromDump = ByteBuffer.allocate(0x100000);
                        dump.read(fromDump, offset + (at - paddr));
                        byte[] fromRam = new byte[0x100000];
                        ram.seek(at);
                        ram.readFully(fromRam);
                        assertTrue(Arrays.equals(fromDump.array(), fromRam), "dump vs RAM file at physical 0x1000000");
                        assertFalse(Arrays.equals(fromRam, new byte[0x100000]), "the kernel's memory is not all zero");
                        compared = true;
                    }
                }
                assertTrue(notes, "the core has a PT_NOTE (CPU state)");
                assertTrue(compared, "a PT_LOAD covers physical 0x1000000");
                assertEquals(guest.config().memoryMiB() * 1024L * 1024L, loaded, "PT_LOAD segments below the RAM size cover all guest RAM");
            }
        } finally {
            guest.resume();
            Files.deleteIfExists(core);
        }
        assertEquals("running", guest.runState());
    }

    /** A second start with the same name must not steal the running guest's sockets. */
    @Test
    void secondInstanceWithTheSameNameIsRefused() {
        GuestException e = assertThrows(GuestException.class, () -> QemuLauncher.start(guest.config(), Duration.ofSeconds(20)));
        assertTrue(e.getMessage().contains("already running"), e.getMessage());
        assertTrue(e.getMessage().contains(guest.runDir().toString()), "names the socket: " + e.getMessage());
        assertEquals("ok", sh("echo ok").strip(), "the first guest still answers");
    }

    /** A command that does not exist is an error naming it, not a hang. */
    @Test
    void execOfAMissingProgramIsAClearError() {
        GuestException e = assertThrows(GuestException.class, () -> guest.exec(EXEC, List.of("/no/such/program")));
        assertTrue(e.getMessage().contains("guest-exec"), e.getMessage());
        ExecResult failing = guest.exec(EXEC, List.of("/bin/sh", "-c", "echo oops >&2; exit 3"));
        assertEquals(new ExecResult(3, "", "oops\n"), failing);
    }

    /** A second client attaches to the running guest by its run directory (what `vmsight lab exec` does). */
    @Test
    void attachFindsTheRunningGuest() {
        QemuGuest attached = QemuLauncher.attach(guest.config());
        try {
            assertEquals(guest.pid(), attached.pid());
        } finally {
            attached.detach();
        }
        assertEquals("ok", sh("echo ok").strip(), "detaching a second client leaves the guest running");
    }
}
