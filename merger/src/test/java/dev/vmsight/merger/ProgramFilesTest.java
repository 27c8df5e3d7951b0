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
    void theTrainingBootsKernelLayoutRoundTrips() throws Exception {
        MergedProgram p = program();
        KernelLayout kaslr = new KernelLayout(0xffffffffa3800000L, 0xffff9a0000000000L, 0xffffb00000000000L, 0xffffd30000000000L);
        RunContext c = new RunContext(0xffffffffa4c1cb60L, 0x1fbc0L, 0xffffffffa521aa40L, 0xffffffffa5210000L, 0xffffffffa521a010L,
                RunContext.Task.INIT_TASK, kaslr, new RunContext.RegionSymbols(0xffffffffa4c15740L, 0xffffffffa4c15738L, 0xffffffffa4c15730L));
        MergedProgram withLayout = new MergedProgram(p.formatVersion(), p.name(), p.kernelTextSha256(), p.kernelRelease(), p.features(),
                p.policy(), p.entry(), p.end(), p.instructions(), p.controls(), p.liveIns(), p.input(), p.userMemory(), p.output(),
                p.stats(), p.environment(), p.frames(), p.summaries(), c);
        Path f = dir.resolve("k.vmprog");
        ProgramFiles.write(withLayout, f);
        assertEquals(c, ProgramFiles.read(f).runContext());
    }

    @Test
    void aTraceOfAKaslrBootWithoutItsRegionBasesCannotBeMerged() {
        String key = dev.vmsight.tracer.capture.KernelSymbols.KEY, region = dev.vmsight.tracer.capture.KernelSymbols.REGION_KEY;
        assertEquals(KernelLayout.NOKASLR, Merger.layout(java.util.Map.of(key + "_text", "ffffffff81000000")));
        assertEquals(KernelLayout.NOKASLR, Merger.layout(java.util.Map.of()));
        MergeException e = assertThrows(MergeException.class, () -> Merger.layout(java.util.Map.of(key + "_text", "ffffffffa3800000")));
        assertTrue(e.getMessage().contains("KASLR boot (_text at 0xffffffffa3800000)"), e.getMessage());
        assertEquals(new KernelLayout(0xffffffffa3800000L, 0xffff9a0000000000L, 0xffffb00000000000L, 0xffffd30000000000L),
                Merger.layout(java.util.Map.of(key + "_text", "ffffffffa3800000", region + "page_offset_base", "ffff9a0000000000",
                        region + "vmalloc_base", "ffffb00000000000", region + "vmemmap_base", "ffffd30000000000")));
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
