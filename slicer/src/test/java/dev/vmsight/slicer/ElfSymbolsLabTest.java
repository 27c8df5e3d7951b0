package dev.vmsight.slicer;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** The allocator entry points read from a training binary equal what binutils' nm says. */
@Tag("lab")
class ElfSymbolsLabTest {
    @Test
    @Timeout(60)
    void allocatorAddressesMatchNm() throws Exception {
        String root = System.getProperty("vmsight.root");
        if (root == null) {
            fail("system property vmsight.root is not set (Surefire sets it to the repository root)");
        }
        Path elf = Path.of(root, ".lab/training/bin/pslist");
        assertTrue(Files.isRegularFile(elf), elf + " is missing: build the training programs (scripts/ lab build)");
        Process nm = new ProcessBuilder("nm", elf.toString()).redirectErrorStream(true).start();
        Map<String, Long> expected = new HashMap<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(nm.getInputStream()))) {
            for (String line; (line = r.readLine()) != null; ) {
                String[] f = line.trim().split("\\s+");
                if (f.length == 3 && "TtWw".contains(f[1]) && Slicer.ALLOCATORS.contains(f[2])) {
                    expected.put(f[2], Long.parseUnsignedLong(f[0], 16));
                }
            }
        }
        assertTrue(nm.waitFor(30, TimeUnit.SECONDS) && nm.exitValue() == 0, "nm " + elf + " failed");
        assertEquals(Slicer.ALLOCATORS.size(), expected.size(), "nm lists " + expected + " in " + elf);
        Map<String, Long> read = ElfSymbols.functions(elf);
        for (var e : expected.entrySet()) {
            assertEquals(e.getValue(), read.get(e.getKey()), e.getKey());
        }
    }
}
