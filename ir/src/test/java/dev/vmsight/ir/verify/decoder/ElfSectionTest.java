package dev.vmsight.ir.verify.decoder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The ELF section reader against a file the JDK itself ships (the java launcher) and against bad input. */
class ElfSectionTest {

    @TempDir
    Path dir;

    @Test
    void readsTextOfARealElfFile() {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        ElfSection text = ElfSection.read(java, ".text");
        assertEquals(".text", text.name());
        assertTrue(text.bytes().length > 100, "a launcher has code");
        assertEquals(text.address() + text.bytes().length, text.end());
    }

    @Test
    void errorsNameTheFileAndTheProblem() throws Exception {
        Path junk = dir.resolve("junk");
        Files.writeString(junk, "not an elf file, but longer than sixty-four bytes ..............................");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ElfSection.read(junk, ".text"));
        assertTrue(e.getMessage().contains(junk.toString()) && e.getMessage().contains("not an ELF file"), e.getMessage());

        Path tiny = dir.resolve("tiny");
        Files.write(tiny, new byte[] {0x7f, 'E', 'L', 'F'});
        e = assertThrows(IllegalArgumentException.class, () -> ElfSection.read(tiny, ".text"));
        assertTrue(e.getMessage().contains("only 4 bytes"), e.getMessage());

        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        e = assertThrows(IllegalArgumentException.class, () -> ElfSection.read(java, ".no-such-section"));
        assertTrue(e.getMessage().contains("has no section .no-such-section"), e.getMessage());
    }
}
