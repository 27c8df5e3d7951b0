package dev.vmsight.cli.run;

import dev.vmsight.jit.run.ProgramRunsTest;

import dev.vmsight.cli.CliRun.Run;
import static dev.vmsight.cli.CliRun.vmsight;

import static org.junit.jupiter.api.Assertions.*;

import dev.vmsight.cli.Vmsight;
import dev.vmsight.merger.MergedProgram.ControlRole;
import dev.vmsight.merger.ProgramFiles;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code vmsight run} through the real command line on a program file written by the merger's
 * writer (the hand-built program of {@link ProgramRunsTest}) over a RAM file with captured HMP
 * registers: both backends give the same answer; guards, budgets and setup errors come out as the
 * documented exit codes and one-line errors.
 */
@Timeout(120)
class RunCommandTest {

    @TempDir
    Path dir;

    private String[] files(ControlRole role) throws Exception {
        Path program = dir.resolve("p-" + role + ".vmprog");
        ProgramFiles.write(ProgramRunsTest.programForTests(role), program);
        Path ram = dir.resolve("ram");
        Files.write(ram, new byte[1 << 16]);
        Path regs = dir.resolve("regs.txt");
        String root = System.getProperty("vmsight.root");
        assertNotNull(root, "system property vmsight.root is not set (Surefire sets it to the repository root)");
        Files.copy(Path.of(root, "vmi-runtime/src/test/resources/dev/vmsight/vmi/vcpu/info-registers-qemu72-6.1.0-56.txt"), regs,
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        return new String[] {program.toString(), ram.toString(), regs.toString()};
    }

    @Test
    void bothBackendsAnswerTheSame() throws Exception {
        String[] f = files(ControlRole.GUARD);
        Run jit = vmsight("run", f[0], "--shm", f[1], "--vcpu", f[2], "--json");
        assertEquals(0, jit.exit(), jit.err());
        assertTrue(jit.out().startsWith("{\"outcome\":\"answer\",\"program\":\"getpid\",\"kind\":\"int64\",\"answer\":42,\"backend\":\"jit\""), jit.out());
        Run ref = vmsight("run", f[0], "--shm", f[1], "--vcpu", f[2], "--json", "--backend", "reference");
        assertEquals(0, ref.exit(), ref.err());
        assertTrue(ref.out().startsWith("{\"outcome\":\"answer\",\"program\":\"getpid\",\"kind\":\"int64\",\"answer\":42,\"backend\":\"reference\""), ref.out());
        Run text = vmsight("run", f[0], "--shm", f[1], "--vcpu", f[2]);
        assertEquals(new Run(0, "42\n", ""), text);
    }

    @Test
    void anUntrainedInputIsAnUnseenPathInBothBackends() throws Exception {
        String[] f = files(ControlRole.GUARD);
        for (String backend : new String[] {"jit", "reference"}) {
            Run r = vmsight("run", f[0], "--shm", f[1], "--vcpu", f[2], "--input", "8", "--json", "--backend", backend);
            assertEquals(3, r.exit(), backend + ": " + r.out() + r.err());
            assertTrue(r.out().contains("\"outcome\":\"unseen_path\",\"site\":\"0x40100a\""), backend + ": " + r.out());
            assertTrue(r.out().contains("\"observed\":\"0x40101c\",\"expected\":[\"0x40100c\"]"), backend + ": " + r.out());
        }
    }

    @Test
    void setupErrorsAreOneLine() throws Exception {
        String[] f = files(ControlRole.GUARD);
        Run missing = vmsight("run", dir.resolve("none.vmprog").toString(), "--dump", f[1]);
        assertEquals(2, missing.exit());
        assertEquals("vmsight: program file " + dir.resolve("none.vmprog") + " does not exist or is not a regular file\n", missing.err());

        Path junk = dir.resolve("junk.vmprog");
        Files.write(junk, new byte[100]);
        Run bad = vmsight("run", junk.toString(), "--shm", f[1], "--vcpu", f[2]);
        assertEquals(2, bad.exit());
        assertTrue(bad.err().startsWith("vmsight: ") && bad.err().contains(junk.toString()) && bad.err().lines().count() == 1, bad.err());

        Run backend = vmsight("run", f[0], "--shm", f[1], "--vcpu", f[2], "--backend", "python");
        assertEquals("vmsight: --backend must be jit or reference, not 'python'\n", backend.err());

        Run two = vmsight("run", f[0], "--shm", f[1], "--dump", f[1]);
        assertEquals(2, two.exit(), "picocli refuses two sources: " + two.err());
    }
}
