package dev.vmsight.tracer.capture;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmsight.vmi.phys.PhysicalMemories;
import dev.vmsight.vmi.phys.PhysicalMemory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The START copy of RAM reads exactly what its source held, at every size, also across its 16 MiB chunks. */
class CopiedRamTest {

    @Test
    void readsEqualTheSourceEverywhereIncludingChunkBoundaries(@TempDir Path dir) throws Exception {
        byte[] bytes = new byte[(40 << 20) + 4096];   // three chunks, the last one partial
        new Random(7).nextBytes(bytes);
        Path image = Files.write(dir.resolve("ram.raw"), bytes);
        try (PhysicalMemory source = PhysicalMemories.rawImage(image)) {
            CopiedRam copy = CopiedRam.copy(source, "test copy");
            assertEquals(bytes.length, copy.size());
            Random r = new Random(11);
            long[] boundaries = {0, (16 << 20) - 1, (16 << 20) - 3, (32 << 20) - 7, bytes.length - 8};
            for (int i = 0; i < 20_000; i++) {
                long pa = i < boundaries.length ? boundaries[i] : r.nextInt(bytes.length - 8);
                for (int size : new int[]{1, 2, 4, 8}) {
                    long expected = ByteBuffer.wrap(bytes, (int) pa, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
                    if (size < 8) expected &= (1L << (8 * size)) - 1;
                    assertEquals(expected, copy.read(pa, size), "read of " + size + " at 0x" + Long.toHexString(pa));
                }
            }
            byte[] across = new byte[10_000];
            copy.read((16 << 20) - 5000, across, 0, across.length);
            assertArrayEquals(source.readFully((16 << 20) - 5000, across.length), across);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> copy.read(bytes.length - 4, 8));
            assertTrue(e.getMessage().contains("0x" + Long.toHexString(bytes.length - 4)), e.getMessage());
            assertThrows(UnsupportedOperationException.class, () -> copy.write(0, 8, 1));
        }
    }
}
