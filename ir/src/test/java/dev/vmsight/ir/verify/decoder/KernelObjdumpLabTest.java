package dev.vmsight.ir.verify.decoder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The objdump oracle over the whole .text of the pinned Debian kernel (scripts/lab.env): no
 * mismatch, and every general-purpose integer instruction decoded. Fetches the kernel with
 * scripts/fetch-kernel.sh when it is missing.
 */
@Tag("lab")
class KernelObjdumpLabTest {

    @Test
    void kernelTextMatchesObjdump() throws Exception {
        Path vmlinux = pinnedVmlinux();
        DecoderReport report = DecoderOracle.run(vmlinux, ".text");
        System.out.println(report.details());
        System.out.println(report.summaryLine());
        assertEquals(0, report.mismatchCount(), () -> "mismatches:\n" + String.join("\n", report.mismatches()));
        assertEquals(0, report.operandMismatchCount(), () -> "operand mismatches:\n" + String.join("\n", report.operandMismatches()));
        assertEquals(100.0, report.percentDecoded(InstructionClass.GENERAL_PURPOSE), 0.0,
                () -> "GP integer instructions refused: " + report.refused());
        assertTrue(report.totalInstructions() > 1_000_000, "suspiciously few instructions: " + report.summaryLine());
    }

    private static Path pinnedVmlinux() throws IOException, InterruptedException {
        String rootProp = System.getProperty("vmsight.root");
        if (rootProp == null) {
            fail("system property vmsight.root is not set (Surefire sets it to the repository root)");
        }
        Path root = Path.of(rootProp);
        Properties env = new Properties();
        try (InputStream in = Files.newInputStream(root.resolve("scripts/lab.env"))) {
            env.load(in);
        }
        String abi = env.getProperty("VMSIGHT_KERNEL_ABI", "").strip();
        String flavor = env.getProperty("VMSIGHT_KERNEL_FLAVOR", "").strip();
        Path vmlinux = root.resolve(".lab/kernels/linux-image-6.1.0-" + abi + "-" + flavor + "/vmlinux");
        if (!Files.isRegularFile(vmlinux)) {
            Process p = new ProcessBuilder(root.resolve("scripts/fetch-kernel.sh").toString(), abi, flavor)
                    .directory(root.toFile()).inheritIO().start();
            if (!p.waitFor(20, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                fail("scripts/fetch-kernel.sh " + abi + " " + flavor + " timed out");
            }
            if (p.exitValue() != 0 || !Files.isRegularFile(vmlinux)) {
                fail("scripts/fetch-kernel.sh " + abi + " " + flavor + " failed (exit " + p.exitValue() + "); " + vmlinux + " missing");
            }
        }
        return vmlinux;
    }
}
