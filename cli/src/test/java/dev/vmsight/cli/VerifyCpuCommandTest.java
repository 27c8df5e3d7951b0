package dev.vmsight.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code vmsight verify cpu}: one summary line last, exit status agreeing with it, one-line errors. */
class VerifyCpuCommandTest {
    @Test
    void endsWithTheSummaryLineAndItsExitStatus() {
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int rc;
        try {
            System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
            rc = Vmsight.commandLine().execute("verify", "cpu", "--states", "3",
                    "--root", System.getProperty("vmsight.root", ".."));
        } finally {
            System.setOut(old);
        }
        String[] lines = buf.toString(StandardCharsets.UTF_8).strip().split("\n");
        String last = lines[lines.length - 1];
        System.out.println(last);
        assertTrue(last.matches("cpu: \\d+ forms × 3 states = [\\d,]+ cases, \\d+ mismatches .*"), last);
        assertEquals(last.contains(" 0 mismatches") ? 0 : 1, rc, "exit status must follow the mismatch count");
    }

    @Test
    void badArgumentsAreOneLineErrors() {
        CommandLine cl = Vmsight.commandLine();
        StringWriter err = new StringWriter();
        cl.setErr(new PrintWriter(err));
        assertEquals(2, cl.execute("verify", "cpu", "--states", "0"));
        assertEquals("vmsight: --states must be at least 1, got 0", err.toString().strip());
    }
}
