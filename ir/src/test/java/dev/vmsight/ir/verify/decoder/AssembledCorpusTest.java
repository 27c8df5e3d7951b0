package dev.vmsight.ir.verify.decoder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The objdump oracle on a corpus assembled with {@code as} (binutils), so it runs without the
 * kernel: every instruction of corpus.s must decode with objdump's length and mnemonic.
 */
class AssembledCorpusTest {

    @TempDir
    Path dir;

    @Test
    void corpusMatchesObjdump() throws Exception {
        Path source = dir.resolve("corpus.s");
        try (InputStream in = AssembledCorpusTest.class.getResourceAsStream("/dev/vmsight/ir/decode/corpus.s")) {
            Files.copy(in, source);
        }
        Path object = dir.resolve("corpus.o");
        run("as", "--64", "-o", object.toString(), source.toString());

        DecoderReport report = DecoderOracle.run(object, ".text");
        System.out.println(report.details());
        System.out.println(report.summaryLine());
        assertEquals(0, report.mismatchCount(), () -> "mismatches:\n" + String.join("\n", report.mismatches()));
        assertEquals(0, report.operandMismatchCount(), () -> "operand mismatches:\n" + String.join("\n", report.operandMismatches()));
        assertEquals(report.totalInstructions(), report.decodedInstructions(), () -> "refused: " + report.refused());
        assertTrue(report.totalInstructions() > 300, "corpus too small: " + report.summaryLine());
        for (InstructionClass c : new InstructionClass[] {InstructionClass.GENERAL_PURPOSE, InstructionClass.SYSTEM,
                InstructionClass.SSE_X87}) {
            assertTrue(report.total().getOrDefault(c, 0L) > 40, "corpus has too few " + c.label() + " instructions");
        }
    }

    /** The oracle must notice a wrong length, a wrong mnemonic and a decoded "(bad)" (fed a doctored listing). */
    @Test
    void oracleReportsMismatchesAndRefusals() throws IOException {
        // 0x100: mov rbp,rsp (3) | 0x103: nop (1) | 0x104: ret (1) | 0x105: 06 (invalid) | 0x106: int3 (1)
        byte[] code = {0x48, (byte) 0x89, (byte) 0xe5, (byte) 0x90, (byte) 0xc3, 0x06, (byte) 0xcc};
        ElfSection section = new ElfSection(".text", 0x100, code);
        String honest = """
                0000000000000100 <f>:
                 100:\tmov    rbp,rsp
                 103:\tnop
                 104:\tret
                 105:\t(bad)
                 106:\tint3
                """;
        DecoderReport ok = DecoderOracle.compareListing(section, new BufferedReader(new StringReader(honest)));
        assertEquals(0, ok.mismatchCount(), ok.details());
        assertEquals(4, ok.totalInstructions());
        assertEquals(1, ok.objdumpBad());

        String doctored = """
                 100:\tmov    rbp,rsp
                 103:\tpause
                 104:\tret
                 105:\tpush   es
                 106:\tint3
                """;
        DecoderReport bad = DecoderOracle.compareListing(section, new BufferedReader(new StringReader(doctored)));
        assertEquals(1, bad.mismatchCount(), bad.details());
        assertTrue(bad.mismatches().get(0).contains("ours nop"), bad.mismatches().get(0));
        assertEquals(4, bad.decodedInstructions());
        assertEquals(1, bad.refused().get(0).getValue());

        String wrongOperands = """
                 100:\tmov    rsp,rbp
                 103:\tnop
                 104:\tret
                """;
        DecoderReport ops = DecoderOracle.compareListing(new ElfSection(".text", 0x100, new byte[] {0x48, (byte) 0x89,
                (byte) 0xe5, (byte) 0x90, (byte) 0xc3}), new BufferedReader(new StringReader(wrongOperands)));
        assertEquals(0, ops.mismatchCount(), ops.details());
        assertEquals(1, ops.operandMismatchCount(), ops.details());
        assertTrue(ops.operandMismatches().get(0).contains("ours rbp,rsp vs objdump rsp,rbp"), ops.operandMismatches().get(0));

        String wrongLength = """
                 100:\tmov    rbp,rsp
                 104:\tret
                """;
        DecoderReport len = DecoderOracle.compareListing(new ElfSection(".text", 0x100, new byte[] {0x48, (byte) 0x89,
                (byte) 0xe5, (byte) 0x90, (byte) 0xc3}), new BufferedReader(new StringReader(wrongLength)));
        assertEquals(1, len.mismatchCount(), len.details());
    }

    private static void run(String... command) throws IOException, InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder(command).redirectErrorStream(true).start();
        } catch (IOException e) {
            fail(command[0] + " is missing (binutils; run scripts/setup.sh): " + e.getMessage());
            return;
        }
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail(String.join(" ", command) + " timed out");
        }
        String out = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.exitValue(), String.join(" ", command) + " failed: " + out);
    }
}
