package dev.vmsight.guests.gdb;

import static org.junit.jupiter.api.Assertions.*;

import dev.vmsight.guests.ExecResult;
import dev.vmsight.guests.GuestConfig;
import dev.vmsight.guests.LabLayout;
import dev.vmsight.guests.QemuGuest;
import dev.vmsight.guests.QemuLauncher;
import dev.vmsight.guests.TrainingProgram;
import dev.vmsight.guests.TrainingSymbols;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * The gdbstub client against a real guest: stop getpsfile at vmsight_mark_in with a CR3-filtered
 * hardware breakpoint while a second instance of the same binary runs at the same addresses.
 */
@Tag("lab")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 180)
class GdbStubLabTest {

    private static final Duration STOP = Duration.ofSeconds(60);

    private LabLayout lab;
    private QemuGuest guest;

    @BeforeAll
    void boot() {
        String root = System.getProperty("vmsight.root");
        if (root == null) fail("system property vmsight.root is not set (Surefire sets it to the repository root)");
        lab = LabLayout.at(Path.of(root));
        try {
            lab.build(lab.pinnedKernel());
        } catch (RuntimeException e) {
            fail("the lab is not set up (run scripts/setup.sh): " + e.getMessage(), e);
        }
        // The non-default boot options, so that they are exercised too: KASLR, 2 vCPUs, 384 MiB.
        GuestConfig config = lab.defaultConfig("test-gdb").withProcs(4).withKaslr(true).withCpus(2).withMemoryMiB(384);
        guest = QemuLauncher.start(config);
    }

    @AfterAll
    void stop() {
        if (guest != null) guest.close();
    }

    @Test
    void stopsOneProcessAtItsMarkByCr3ReadsAndWritesItsMemory() throws IOException {
        TrainingSymbols symbols = lab.trainingSymbols();
        long main = symbols.address(TrainingProgram.GETPSFILE, TrainingSymbols.MAIN);
        long markIn = symbols.address(TrainingProgram.GETPSFILE, TrainingSymbols.MARK_IN);
        long[] sleeper = new long[5];
        for (int i = 1; i <= 4; i++) sleeper[i] = workloadPid("vmsleep-" + i);

        // Three runs of the same static binary (same addresses, different CR3s): one alone, then
        // two at once. The sleep leaves time to insert the breakpoint before any starts.
        String script = "sleep 2; /training/getpsfile " + sleeper[1] + "; /training/getpsfile " + sleeper[2]
                + " & /training/getpsfile " + sleeper[3] + "; wait";
        long shell = guest.spawn(List.of("/bin/sh", "-c", script));

        try (GdbClient gdb = GdbClient.connect(guest.gdbSocket(), Duration.ofSeconds(10))) {
            // Stop A (the run with sleeper 2's PID) at main. The run before it, and busybox (static
            // at 0x400000 too), hit the same address first: those hits are stepped over.
            String wanted = String.valueOf(sleeper[2]);
            BreakpointHit atMain = gdb.continueToBreakpoint(main,
                    r -> argv(gdb, r, 0).endsWith("/getpsfile") && argv(gdb, r, 1).equals(wanted), STOP);
            assertTrue(atMain.skippedHits() >= 1, "the first run's hit at main was skipped");
            long cr3A = atMain.registers().cr3();
            gdb.removeHardwareBreakpoint(main);

            // A and B now race to mark_in; whichever comes first, the CR3 filter stops only A.
            BreakpointHit hit = gdb.continueToBreakpoint(markIn, cr3A, STOP);
            X86Registers r = hit.registers();
            System.out.printf("gdbstub: A at mark_in, cr3=0x%x, %d hit(s) of B skipped%n", r.cr3(), hit.skippedHits());
            assertEquals(markIn, r.rip());
            assertEquals(cr3A, r.cr3(), "stopped in A's address space");
            assertEquals(3, r.cpl(), "user mode");
            assertTrue(r.longMode(), "EFER.LMA set: efer=0x" + Long.toHexString(r.efer()));
            assertNotEquals(0, r.fsBase(), "glibc's TLS: fs_base set");
            assertEquals(0x80000001L, r.cr0() & 0x80000001L, "paging and protection on");
            assertEquals(4, r.rsi(), "mark_in(&pid, sizeof pid)");

            // rdi is the input buffer: A's int PID, not B's.
            int pidIn = ByteBuffer.wrap(gdb.readMemory(r.rdi(), 4)).order(ByteOrder.LITTLE_ENDIAN).getInt();
            assertEquals(sleeper[2], pidIn, "the buffer mark_in names holds A's input");

            // The code at rip is the binary's own bytes (the host copy is the same file).
            assertArrayEquals(fileBytesAt(lab.trainingBinary(TrainingProgram.GETPSFILE), markIn, 16),
                    gdb.readMemory(markIn, 16), "memory at mark_in vs the ELF file");

            // Write another PID into A's input: A then reports sleeper 4.
            gdb.writeMemory(r.rdi(), ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) sleeper[4]).array());

            StopReply step = gdb.step();
            assertEquals(StopReply.SIGTRAP, step.signal());
            X86Registers afterStep = gdb.readRegisters();
            assertNotEquals(markIn, afterStep.rip(), "a step moves rip");
            assertEquals(cr3A, afterStep.cr3(), "a step stays in A");
            gdb.removeHardwareBreakpoint(markIn);
        }

        ExecResult result = awaitExit(shell);
        assertEquals(0, result.exitCode(), result.stderr());
        List<String> lines = result.stdout().lines().sorted().toList();
        List<String> expected = List.of("pid=" + sleeper[1] + " name=vmsleep-1", "pid=" + sleeper[4] + " name=vmsleep-4",
                "pid=" + sleeper[3] + " name=vmsleep-3").stream().sorted().toList();
        assertEquals(expected, lines, "all runs completed after detach; A reports the PID written into its buffer");
    }

    /**
     * Single-stepping from mark_in follows the program into the kernel: the first step that lands
     * at CPL 0 comes right after a {@code syscall} instruction (0f 05), at the kernel's entry point.
     */
    @Test
    void singleStepsFromTheMarkIntoTheKernel() {
        TrainingSymbols symbols = lab.trainingSymbols();
        long main = symbols.address(TrainingProgram.GETPSFILE, TrainingSymbols.MAIN);
        long markIn = symbols.address(TrainingProgram.GETPSFILE, TrainingSymbols.MARK_IN);
        String pid1 = "1";
        long shell = guest.spawn(List.of("/bin/sh", "-c", "sleep 2; exec /training/getpsfile " + pid1));
        int steps = 0;
        long nanos;
        try (GdbClient gdb = GdbClient.connect(guest.gdbSocket(), Duration.ofSeconds(10))) {
            BreakpointHit atMain = gdb.continueToBreakpoint(main,
                    r -> argv(gdb, r, 0).endsWith("/getpsfile") && argv(gdb, r, 1).equals(pid1), STOP);
            gdb.removeHardwareBreakpoint(main);
            long cr3 = atMain.registers().cr3();
            X86Registers r = gdb.continueToBreakpoint(markIn, cr3, STOP).registers();
            gdb.removeHardwareBreakpoint(markIn);
            long start = System.nanoTime();
            X86Registers previous = r;
            while (r.cpl() == 3 && steps < 5000) {
                previous = r;
                gdb.step();
                r = gdb.readRegisters();
                steps++;
            }
            nanos = System.nanoTime() - start;
            assertEquals(0, r.cpl(), "reached the kernel within 5000 steps");
            assertArrayEquals(new byte[] {0x0f, 0x05}, gdb.readMemory(previous.rip(), 2), "the last user instruction is syscall");
            assertTrue(Long.compareUnsigned(r.rip(), 0xffff_ffff_8000_0000L) >= 0, "kernel text: 0x" + Long.toHexString(r.rip()));
            assertEquals(previous.rip() + 2, r.rcx(), "syscall saved the return address in rcx");
        }
        System.out.printf("gdbstub: %d single steps (with a register read each) in %.0f ms: %.0f steps/s%n",
                steps, nanos / 1e6, steps / (nanos / 1e9));
        ExecResult result = awaitExit(shell);
        assertEquals("pid=1 name=init", result.stdout().strip(), "the program completes normally after stepping");
    }

    /** KASLR moves the kernel's text away from 0xffffffff81000000; both vCPUs and all the RAM are there. */
    @Test
    void bootOptionsTakeEffect() throws IOException {
        String cmdline = sh("cat /proc/cmdline");
        assertFalse(cmdline.contains("nokaslr"), cmdline);
        assertNotEquals("ffffffff81000000", sh("grep ' T _text$' /proc/kallsyms").split(" ")[0],
                "_text is randomised with KASLR (1 chance in ~500 to sit at the default by luck)");
        assertEquals("2", sh("grep -c ^processor /proc/cpuinfo"));
        long memTotalKiB = Long.parseLong(sh("grep MemTotal /proc/meminfo").replaceAll("[^0-9]", ""));
        assertTrue(memTotalKiB > 256 * 1024 && memTotalKiB <= 384 * 1024, "MemTotal " + memTotalKiB + " kB of 384 MiB");
        assertEquals(384L << 20, Files.size(guest.ramFile()), "the shared RAM file is the guest's RAM");
    }

    private String sh(String script) {
        return guest.exec(Duration.ofSeconds(20), List.of("/bin/sh", "-c", script)).stdoutOrThrow(script).strip();
    }

    private ExecResult awaitExit(long guestPid) {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            Optional<ExecResult> r = guest.poll(guestPid);
            if (r.isPresent()) return r.get();
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }
        throw new AssertionError("the training programs did not finish after the debugger detached");
    }

    private long workloadPid(String name) {
        for (String line : guest.exec(Duration.ofSeconds(20), List.of("/bin/cat", "/run/vmsight-workload")).stdout().split("\n")) {
            String[] f = line.split(" ");
            if (f.length == 3 && f[2].equals(name)) return Long.parseLong(f[1]);
        }
        throw new AssertionError("no " + name + " in /run/vmsight-workload");
    }

    /**
     * argv[i] of a process stopped at main (rdi = argc, rsi = argv); "" when the stop is not at a
     * program's main (busybox code at the same address: rdi/rsi are then not argc/argv).
     */
    private static String argv(GdbClient gdb, X86Registers r, int i) {
        if (i >= r.rdi() || r.rdi() > 64) return "";
        byte[] s;
        try {
            long pointer = ByteBuffer.wrap(gdb.readMemory(r.rsi() + 8L * i, 8)).order(ByteOrder.LITTLE_ENDIAN).getLong();
            s = gdb.readMemory(pointer, 64);
        } catch (GdbException unmapped) {
            return "";
        }
        int len = 0;
        while (len < s.length && s[len] != 0) len++;
        return new String(s, 0, len, StandardCharsets.US_ASCII);
    }

    /** {@code length} bytes of an ELF executable at virtual address {@code vaddr}, found through its PT_LOAD headers. */
    private static byte[] fileBytesAt(Path elf, long vaddr, int length) throws IOException {
        byte[] file = Files.readAllBytes(elf);
        ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        long phoff = b.getLong(32);
        int phentsize = b.getShort(54) & 0xffff, phnum = b.getShort(56) & 0xffff;
        for (int i = 0; i < phnum; i++) {
            int at = (int) (phoff + (long) i * phentsize);
            if (b.getInt(at) != 1) continue;
            long offset = b.getLong(at + 8), segVaddr = b.getLong(at + 16), filesz = b.getLong(at + 32);
            if (vaddr >= segVaddr && vaddr + length <= segVaddr + filesz) {
                int from = (int) (offset + vaddr - segVaddr);
                return Arrays.copyOfRange(file, from, from + length);
            }
        }
        throw new AssertionError(String.format("0x%x is in no PT_LOAD of %s", vaddr, elf));
    }
}
