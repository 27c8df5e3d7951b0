package dev.vmsight.cli;

import dev.vmsight.guests.LabLayout;
import dev.vmsight.guests.TrainingProgram;
import dev.vmsight.merger.MergedProgram;
import dev.vmsight.merger.ProgramFiles;
import dev.vmsight.tracer.capture.TrainingCorpus;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** {@code vmsight merge} on the corpus's real getpid traces, then {@code vmsight inspect} on the file. */
@Tag("lab")
class MergeInspectCommandLabTest {
    @TempDir
    Path dir;

    private static String[] run(String... args) {
        CommandLine cl = Vmsight.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute(args);
        return new String[]{String.valueOf(exit), out.toString(), err.toString()};
    }

    @Test
    @Timeout(600)
    void mergeWritesAProgramThatInspectLists() throws Exception {
        String root = System.getProperty("vmsight.root");
        if (root == null) {
            fail("system property vmsight.root is not set (Surefire sets it to the repository root)");
        }
        List<TrainingCorpus.Entry> corpus = TrainingCorpus.ensure(LabLayout.at(Path.of(root)), TrainingProgram.GETPID, 2);
        Path program = dir.resolve("getpid.vmsprog");
        String[] merge = run("merge", corpus.get(0).trace().toString(), corpus.get(1).trace().toString(),
                "--policy", "strict", "--out", program.toString());
        assertEquals("0", merge[0], merge[2]);
        assertTrue(merge[1].contains("program of 2 traces"), merge[1]);
        MergedProgram p = ProgramFiles.read(program);
        assertEquals("getpid", p.name());
        assertEquals(2, p.stats().traces());

        String[] inspect = run("inspect", program.toString());
        assertEquals("0", inspect[0], inspect[2]);
        String listing = inspect[1];
        assertTrue(listing.contains("program   getpid (policy strict"), listing);
        assertTrue(listing.contains("syscall"), "the syscall instruction is listed");
        assertTrue(listing.contains("GUARD"), "guards are listed");
        assertTrue(listing.lines().anyMatch(l -> l.trim().startsWith("* ")), "kept µops are marked");
        assertTrue(listing.contains("cr3←vcpu.cr3"), "CR3 comes from the vCPU");
        // the per-function breakdown: named from the training binary and the kallsyms saved beside the corpus
        String functions = listing.substring(listing.indexOf("\nfunctions ("), listing.indexOf("\nlisting ("));
        assertTrue(functions.contains("\n  main "), functions);
        assertTrue(functions.contains("\n  do_syscall_64 "), functions);
        assertTrue(functions.lines().noneMatch(l -> l.trim().startsWith("user_") || l.trim().startsWith("kernel_")),
                "every function is named: " + functions);

        Path bad = dir.resolve("bad.vmsprog");
        byte[] bytes = Files.readAllBytes(program);
        bytes[bytes.length / 2] ^= 1;
        Files.write(bad, bytes);
        String[] broken = run("inspect", bad.toString());
        assertEquals("2", broken[0], "the execution exception handler's exit code");
        assertTrue(broken[2].startsWith("vmsight: ") && broken[2].contains("byte offset"), broken[2]);
    }
}
