package dev.vmsight.ir.verify.cpu;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The host CPU is the oracle: every corpus form on 1,000 seeded random states, natively and
 * through decoder + lifter + interpreter; every GPR, defined flag and memory byte must agree.
 * Needs gcc and GNU as (binutils), which scripts/setup.sh installs.
 */
class CpuOracleTest {
    @Test
    void interpreterAgreesWithTheHostCpu() throws Exception {
        Path root = Path.of(System.getProperty("vmsight.root", "..")).toAbsolutePath().normalize();
        int states = Integer.getInteger("vmsight.cpu.states", 1000);
        CpuOracle.Report report = CpuOracle.run(root, states, 20261125L, System.out);
        System.out.println(report.summary());
        report.mismatches().stream().limit(40).forEach(m -> System.out.println("  " + m));
        report.nativeReruns().forEach(r -> System.out.println("  native re-run: " + r));
        assertTrue(report.nativeReruns().size() <= 10, "the host CPU gave non-repeatable results too often: "
                + report.nativeReruns());
        assertTrue(report.forms() >= 400, "corpus too small: " + report.forms());
        assertTrue(report.faultCases() > 0, "no faulting case was exercised (#DE)");
        assertEquals(0, report.mismatchCount(), report.summary());
    }
}
