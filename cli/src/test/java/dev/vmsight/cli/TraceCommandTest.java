package dev.vmsight.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code vmsight trace}: bad input is one clear line and exit code 2, before any guest is booted. */
class TraceCommandTest {

    private record Run(int exit, String out, String err) { }

    private static Run run(String... args) {
        CommandLine cl = Vmsight.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int exit = cl.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    @Test
    void anUnknownProgramIsNamedWithTheOnesThatExist() {
        Run r = run("trace", "nosuch");
        assertEquals(2, r.exit());
        assertTrue(r.err().startsWith("vmsight: no training program 'nosuch' (getpid, gettime, pslist"), r.err());
    }

    @Test
    void badBudgetsAndRunCountsAreRefusedWithTheOption() {
        Run runs = run("trace", "getpid", "--runs", "0");
        assertEquals(2, runs.exit());
        assertTrue(runs.err().contains("--runs must be at least 1, not 0"), runs.err());
        Run instructions = run("trace", "getpid", "--max-instructions", "-5");
        assertEquals(2, instructions.exit());
        assertTrue(instructions.err().contains("--max-instructions must be positive, not -5"), instructions.err());
        Run seconds = run("trace", "getpid", "--max-seconds", "0");
        assertEquals(2, seconds.exit());
        assertTrue(seconds.err().contains("--max-seconds must be positive"), seconds.err());
    }

    @Test
    void shutdownAndKeepExcludeEachOther() {
        Run r = run("trace", "getpid", "--shutdown", "--keep");
        assertTrue(r.exit() != 0 && r.err().contains("mutually exclusive"), r.err());
    }
}
