package dev.vmsight.merger;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ProgramFilesTest {
    @TempDir
    Path dir;

    private static MergedProgram program() {
        return Merger.merge(java.util.List.of(ListGuest.withPids(1, 7, 42).trace().trace(),
                ListGuest.withPids(0x9000).trace().trace()), SliceInput.unsliced()).program();
    }

    @Test
    void roundTripKeepsEveryField() throws Exception {
        MergedProgram p = program();
        Path f = dir.resolve("p.vmsprog");
        ProgramFiles.write(p, f);
        MergedProgram q = ProgramFiles.read(f);
        assertArrayEquals(ProgramFiles.body(p), ProgramFiles.body(q));
        assertEquals(p.stats(), q.stats());
        assertEquals(p.liveIns(), q.liveIns());
        // and it still runs
        ListGuest g = ListGuest.withPids(4, 5);
        RunResult r = new ReferenceExecutor(q).run(g.physical, g.vcpu(), new byte[0],
                dev.vmsight.vmi.Budget.of(10_000, java.time.Duration.ofSeconds(5)));
        assertArrayEquals(ListGuest.int32s(4, 5), ((RunResult.Answer) r).bytes());
        assertTrue(Files.size(f) > 100);
    }

    @Test
    void everyFlippedByteAndEveryTruncationIsReportedWithAnOffset() {
        byte[] good;
        Path f = dir.resolve("p.vmsprog");
        ProgramFiles.write(program(), f);
        try {
            good = Files.readAllBytes(f);
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
        for (int i = 0; i < good.length; i++) {
            byte[] bad = good.clone();
            bad[i] ^= 0x5A;
            int at = i;
            ProgramFormatException e = assertThrows(ProgramFormatException.class, () -> ProgramFiles.read(f, bad),
                    "flip at " + at);
            assertTrue(e.getMessage().contains("byte offset"), e.getMessage());
            assertTrue(e.offset() <= good.length, e.getMessage());
        }
        for (int n = 0; n < good.length; n++) {
            byte[] cut = Arrays.copyOf(good, n);
            assertThrows(ProgramFormatException.class, () -> ProgramFiles.read(f, cut), "truncated to " + n);
        }
    }

    @Test
    void notAProgramFileSaysSo() {
        ProgramFormatException e = assertThrows(ProgramFormatException.class,
                () -> ProgramFiles.read(dir.resolve("x"), "VMSNAP\0\0\0\0\0\1\0\0\0\0\0\0\0\0".getBytes()));
        assertTrue(e.getMessage().contains("bad magic") && e.getMessage().contains("offset 3"), e.getMessage());
    }
}
