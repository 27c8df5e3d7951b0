package dev.vmsight.cli;

import dev.vmsight.cli.CliRun.Run;
import static dev.vmsight.cli.CliRun.vmsight;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** {@code vmsight trace}: bad input is one clear line and exit code 2, before any guest is booted. */
class TraceCommandTest {

    @Test
    void anUnknownProgramIsNamedWithTheOnesThatExist() {
        Run r = vmsight("trace", "nosuch");
        assertEquals(2, r.exit());
        assertTrue(r.err().startsWith("vmsight: no training program 'nosuch' (getpid, gettime, pslist"), r.err());
    }

    @Test
    void badBudgetsAndRunCountsAreRefusedWithTheOption() {
        Run runs = vmsight("trace", "getpid", "--runs", "0");
        assertEquals(2, runs.exit());
        assertTrue(runs.err().contains("--runs must be at least 1, not 0"), runs.err());
        Run instructions = vmsight("trace", "getpid", "--max-instructions", "-5");
        assertEquals(2, instructions.exit());
        assertTrue(instructions.err().contains("--max-instructions must be positive, not -5"), instructions.err());
        Run seconds = vmsight("trace", "getpid", "--max-seconds", "0");
        assertEquals(2, seconds.exit());
        assertTrue(seconds.err().contains("--max-seconds must be positive"), seconds.err());
    }

    @Test
    void shutdownAndKeepExcludeEachOther() {
        Run r = vmsight("trace", "getpid", "--shutdown", "--keep");
        assertTrue(r.exit() != 0 && r.err().contains("mutually exclusive"), r.err());
    }
}
