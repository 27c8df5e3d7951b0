package dev.vmsight.tracer.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The kernel's build identity against binutils: objcopy extracts .text, the JDK hashes it. */
class KernelIdentityTest {

    @Test
    void textHashEqualsObjcopysTextSection(@TempDir Path dir) throws Exception {
        Path elf = Path.of("/bin/ls").toRealPath();
        Path text = dir.resolve("text.bin");
        Process p = new ProcessBuilder("objcopy", "-O", "binary", "--only-section=.text", elf.toString(), text.toString())
                .redirectErrorStream(true).start();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0, "objcopy (binutils) must extract .text of " + elf);
        String expected = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(text)));
        assertEquals(expected, KernelIdentity.textSha256(elf));
    }

    @Test
    void notAnElfIsRefusedNamingTheFile(@TempDir Path dir) throws Exception {
        Path junk = Files.write(dir.resolve("vmlinux"), new byte[200]);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> KernelIdentity.textSha256(junk));
        assertTrue(e.getMessage().contains(junk.toString()) && e.getMessage().contains("ELF64"), e.getMessage());
    }
}
