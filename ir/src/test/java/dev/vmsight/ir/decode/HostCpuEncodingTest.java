package dev.vmsight.ir.decode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * The host CPU as the oracle for lengths and validity, where objdump and the SDM disagree or the
 * rule is subtle. Each case becomes a tiny static program (as + ld):
 * {@code <bytes>; jmp +2; ud2; exit(0)}. If the CPU takes the instruction to be exactly as long as
 * the decoder says, it lands on the jmp and exits 0; if it takes it longer or shorter it runs
 * into ud2 or garbage. An encoding the decoder refuses as invalid must raise SIGILL (#UD).
 * Memory operands only use [rsp], which is mapped.
 */
class HostCpuEncodingTest {

    private static final int SIGILL_EXIT = 128 + 4;

    @TempDir
    static Path dir;

    @BeforeAll
    static void requireX8664() {
        String arch = System.getProperty("os.arch");
        if (!arch.equals("amd64") && !arch.equals("x86_64")) {
            fail("the host-CPU decoder test needs an x86-64 host, this is " + arch);
        }
    }

    @ParameterizedTest(name = "CPU agrees on the length of {0}")
    @ValueSource(strings = {
            "66 48 26 05 90 90",                  // REX before a segment prefix is ignored: add ax, imm16 (objdump: 8 bytes)
            "48 66 89 e5",                        // superseded REX.W: mov bp, sp
            "66 40 44 8d 0c 24",                  // two REX prefixes: only the last counts
            "0f ae fa", "0f ae ff", "0f ae f9",   // sfence ignores ModRM.rm (objdump refuses fa, ff)
            "0f 1a 04 24", "0f 1b 04 24",         // MPX space: hint nops on CPUs without MPX
            "f3 0f 1e c8",                        // rdsspd: a nop without shadow stacks
            "f3 0f 1e fa",                        // endbr64
            "66 66 2e 0f 1f 84 00 00 00 00 00",   // the compilers' long nop
            "f3 48 90", "66 90", "f2 f3 90",
            "f0 48 0f c1 04 24",                  // lock xadd [rsp], rax
            "48 8b 44 24 08", "48 8b 04 24", "48 c7 c0 ff ff ff ff", "48 b8 88 77 66 55 44 33 22 11",
            "48 83 c0 ff", "66 05 00 80", "0f 0d 0c 24", "0f 18 04 24", "c4 e2 f3 f7 c3", "0f b9 c0 90"
    })
    void lengthMatchesTheCpu(String hex) throws Exception {
        byte[] bytes = HexFormat.of().parseHex(hex.replace(" ", ""));
        if (hex.startsWith("0f b9")) {
            // ud1 is valid to decode and raises #UD by definition
            assertEquals(3, Decoder.decode(bytes, 0, 0).length());
            assertEquals(SIGILL_EXIT, runOnCpu(bytes), "ud1 must raise #UD");
            return;
        }
        Instruction insn = Decoder.decode(bytes, 0, 0x1000);
        assertEquals(bytes.length, insn.length(), "decoder length of " + hex);
        assertEquals(0, runOnCpu(bytes), "the CPU does not execute " + hex + " as one " + bytes.length
                + "-byte instruction (exit status 132 = #UD, 139 = fault)");
    }

    @ParameterizedTest(name = "CPU raises #UD on {0}, decoder refuses it")
    @ValueSource(strings = {"06", "27", "60", "d6", "ce", "0f 04", "ff ff", "f0 90", "f0 01 c0", "f0 8b 04 24",
            "f0 0f af 04 24", "62 c0", "8e f8", "0f c7 04 24"})
    void invalidOnTheCpu(String hex) throws Exception {
        byte[] bytes = HexFormat.of().parseHex(hex.replace(" ", ""));
        DecodeException e = assertThrows(DecodeException.class, () -> Decoder.decode(bytes, 0, 0x1000));
        assertEquals(false, e.truncated());
        assertEquals(SIGILL_EXIT, runOnCpu(bytes), "the CPU does not raise #UD on " + hex);
    }

    private static int runOnCpu(byte[] bytes) throws IOException, InterruptedException {
        StringBuilder src = new StringBuilder(".globl _start\n_start:\n.byte ");
        for (int i = 0; i < bytes.length; i++) {
            src.append(i == 0 ? "" : ",").append(bytes[i] & 0xFF);
        }
        src.append("\n.byte 0xeb,0x02\n.byte 0x0f,0x0b\nmov $60,%eax\nxor %edi,%edi\nsyscall\n");
        String name = "p" + HexFormat.of().formatHex(bytes);
        Path s = dir.resolve(name + ".s");
        Path o = dir.resolve(name + ".o");
        Path exe = dir.resolve(name);
        Files.writeString(s, src);
        assertEquals(0, run("as", "--64", "-o", o.toString(), s.toString()), "as failed on " + s);
        assertEquals(0, run("ld", "-o", exe.toString(), o.toString()), "ld failed on " + o);
        return run(exe.toString());
    }

    private static int run(String... command) throws IOException, InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        } catch (IOException e) {
            fail(command[0] + " cannot be run (binutils: run scripts/setup.sh): " + e.getMessage());
            return -1;
        }
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail(String.join(" ", command) + " timed out");
        }
        return p.exitValue();
    }
}
