package dev.vmsight.cli;

import dev.vmsight.cli.CliRun.Run;
import static dev.vmsight.cli.CliRun.vmsight;

import static org.junit.jupiter.api.Assertions.*;

import dev.vmsight.jit.train.Training;
import dev.vmsight.vmi.phys.ElfCore;
import dev.vmsight.vmi.phys.PhysicalMemories;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/** `vmsight lab boot / exec / dump / stop` through the real command line, against a real QEMU guest. */
@Tag("lab")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 240)
class LabCommandLabTest {

    private static final String NAME = "test-cli";

    @AfterAll
    void stopWhateverIsLeft() {
        vmsight("lab", "stop", "--name", NAME);
    }

    @Test
    void bootExecDumpStop() throws Exception {
        Run boot = vmsight("lab", "boot", "--name", NAME, "--procs", "3");
        assertEquals(0, boot.exit(), boot.err());
        Matcher m = Pattern.compile("QEMU PID (\\d+)").matcher(boot.out());
        assertTrue(m.find(), boot.out());
        long qemuPid = Long.parseLong(m.group(1));
        assertTrue(ProcessHandle.of(qemuPid).map(ProcessHandle::isAlive).orElse(false), "boot leaves QEMU running");

        Run again = vmsight("lab", "boot", "--name", NAME);
        assertEquals(2, again.exit());
        assertTrue(again.err().startsWith("vmsight: lab guest '" + NAME + "' is already running"), again.err());
        assertEquals(1, again.err().lines().count(), "one line: " + again.err());

        Run pid = vmsight("lab", "exec", "--name", NAME, "--", "/bin/sh", "-c", "echo $$; exec /training/getpid");
        assertEquals(0, pid.exit(), pid.err());
        String[] lines = pid.out().split("\n");
        assertEquals("pid=" + lines[0].strip(), lines[1].strip(), "getpid vs the shell's $$ in the guest");

        Run failing = vmsight("lab", "exec", "--name", NAME, "--", "/bin/sh", "-c", "echo to-stderr >&2; exit 7");
        assertEquals(new Run(7, "", "to-stderr\n"), failing, "exit code and stderr pass through");

        Path core = Files.createTempFile("vmsight-cli", ".core");
        try {
            Run dump = vmsight("lab", "dump", "--name", NAME, core.toString());
            assertEquals(0, dump.exit(), dump.err());
            byte[] head = new byte[4];
            try (var in = Files.newInputStream(core)) {
                assertEquals(4, in.read(head));
            }
            assertArrayEquals(new byte[] {0x7f, 'E', 'L', 'F'}, head);

            // the core drgn and crash open: VMCOREINFO from the guest's qemu_fw_cfg, one segment per virtual mapping
            Run peers = vmsight("lab", "dump", "--name", NAME, "--vmcoreinfo", "--paging", core + ".paging");
            assertEquals(0, peers.exit(), peers.err());
            try (ElfCore plain = PhysicalMemories.elfCore(core); ElfCore paging = PhysicalMemories.elfCore(Path.of(core + ".paging"))) {
                assertFalse(plain.noteNames().contains("VMCOREINFO"), "qemu_fw_cfg is not loaded at boot: " + plain.noteNames());
                assertTrue(paging.noteNames().contains("VMCOREINFO"), "after --vmcoreinfo: " + paging.noteNames());
                byte[] a = new byte[4096], b = new byte[4096];
                plain.read(0x1000000, a, 0, a.length);      // the kernel's first text page (nokaslr): the same in both
                paging.read(0x1000000, b, 0, b.length);
                assertArrayEquals(a, b, "the paging core's pages, mapped twice (direct map, kernel image), read once");
                assertTrue(paging.map().size() >= plain.map().size() - (16L << 20),
                        "the paging core holds the RAM the direct map covers: " + paging.map().size() + " of " + plain.map().size());
            }
        } finally {
            Files.deleteIfExists(core);
            Files.deleteIfExists(Path.of(core + ".paging"));
        }

        Run stop = vmsight("lab", "stop", "--name", NAME);
        assertEquals(0, stop.exit(), stop.err());
        ProcessHandle.of(qemuPid).ifPresent(h -> h.onExit().join());
        assertFalse(ProcessHandle.of(qemuPid).map(ProcessHandle::isAlive).orElse(false), "stop ends QEMU PID " + qemuPid);

        Run gone = vmsight("lab", "exec", "--name", NAME, "--", "/bin/true");
        assertEquals(2, gone.exit());
        assertTrue(gone.err().startsWith("vmsight: no lab guest '" + NAME + "' is running"), gone.err());
    }

    /** The demo as a user runs it (default policy {@link Training#DEFAULT_POLICY}), run once and checked by two tests. */
    private Run demo;

    private Run demo() {
        if (demo == null) demo = vmsight("demo", "--repeat", "5");   // as README runs it (300 sleepers), fewer timed repeats
        return demo;
    }

    /**
     * The demo runs every stage (train pslist: trace, slice, merge, calibrate, compile, self-check; boot; run the monitor on
     * the paused guest; stop), stops its guest, and never prints a wrong answer: either the
     * monitor's PIDs AGREE with ls /proc or it refuses with a structured outcome (NO ANSWER).
     */
    @Test
    void demoRunsEveryStageNeverDisagreesAndStopsItsGuest() {
        Run demo = demo();
        assertTrue(demo.err().isEmpty() || !demo.err().startsWith("vmsight:"), demo.err());
        for (String stage : new String[] {"build lab image", "trace: 4 runs in", "slice: ", "merge: ", "calibrate: ", "write: ",
                "compile: ", "self-check: 4 of 4 training snapshots answered as the guest did", "boot guest (QEMU PID",
                "run the monitor on the paused guest", "stop guest"}) {
            assertTrue(demo.out().contains(stage), "stage '" + stage + "' timed: " + demo.out());
        }
        assertFalse(demo.out().contains("DISAGREE"), "a wrong answer: " + demo.out());
        assertTrue(demo.out().contains("-> AGREE") && demo.exit() == 0 || demo.out().contains("-> NO ANSWER") && demo.exit() == 1,
                "exit " + demo.exit() + ": " + demo.out());
        Matcher m = Pattern.compile("QEMU PID (\\d+)").matcher(demo.out());
        assertTrue(m.find());
        assertFalse(ProcessHandle.of(Long.parseLong(m.group(1))).map(ProcessHandle::isAlive).orElse(false), "demo stopped QEMU");
    }

    /**
     * Issue 7's acceptance: the demo's live monitor, trained under the default guard policy,
     * answers and agrees with the guest's own view (exit 0).
     */
    @Test
    void demoAgrees() {
        Run demo = demo();
        assertEquals(0, demo.exit(), demo.out() + demo.err());
        assertTrue(demo.out().contains("-> AGREE"), demo.out());
    }

    @Test
    void wrongKernelAbiIsOneLine() {
        Run r = vmsight("lab", "boot", "--name", "test-cli-abi", "--abi", "56a");
        assertEquals(2, r.exit());
        assertEquals("vmsight: wrong kernel ABI '56a': expected a number like 56 (as in linux-image-6.1.0-56-amd64)\n", r.err());
    }
}
