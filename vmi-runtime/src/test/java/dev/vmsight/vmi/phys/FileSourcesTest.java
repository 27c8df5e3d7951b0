package dev.vmsight.vmi.phys;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** RAM file and raw image sources against the bytes of the file they map. */
class FileSourcesTest {
    @TempDir Path dir;

    private byte[] randomFile(Path p, int size) throws IOException {
        byte[] data = new byte[size];
        new Random(42).nextBytes(data);
        Files.write(p, data);
        return data;
    }

    @Test
    void rawImageIsIdentity() throws IOException {
        Path img = dir.resolve("ram.raw");
        byte[] data = randomFile(img, 3 * 65536 + 123);
        try (PhysicalMemory m = PhysicalMemories.rawImage(img)) {
            assertEquals(data.length, m.size());
            assertArrayEquals(Arrays.copyOfRange(data, 65530, 65530 + 70000), m.readFully(65530, 70000));
            long expected = ByteBuffer.wrap(data, 0x1234, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
            assertEquals(expected, m.readLong(0x1234));
            PhysicalMemoryException e = assertThrows(PhysicalMemoryException.class, () -> m.readFully(data.length - 4, 8));
            assertEquals(data.length, e.address());
            assertTrue(e.getMessage().contains("0x" + Long.toHexString(data.length)), e.getMessage());
            assertTrue(e.getMessage().contains(img.toString()), e.getMessage());
        }
    }

    @Test
    void ramFileFollowsItsMemoryMap() throws IOException {
        // Like a guest above the PCI hole: low RAM at 0, the rest at 4 GiB, stored back to back.
        Path ram = dir.resolve("pc.ram");
        byte[] data = randomFile(ram, 0x30000);
        MemoryMap map = new MemoryMap(List.of(new MemoryMap.Segment(0, 0x20000, 0),
                new MemoryMap.Segment(0x1_0000_0000L, 0x10000, 0x20000)));
        try (PhysicalMemory m = PhysicalMemories.ramFile(ram, map)) {
            assertArrayEquals(Arrays.copyOfRange(data, 0x20000, 0x30000), m.readFully(0x1_0000_0000L, 0x10000));
            assertArrayEquals(Arrays.copyOfRange(data, 0x1fff0, 0x20000), m.readFully(0x1fff0, 0x10));
            PhysicalMemoryException e = assertThrows(PhysicalMemoryException.class, () -> m.readFully(0x1fff0, 0x20));
            assertEquals(0x20000, e.address(), "the first address in the hole");
            assertTrue(e.getMessage().contains("0x20000"), e.getMessage());
        }
    }

    @Test
    void mapLargerThanTheFileIsRejected() throws IOException {
        Path ram = dir.resolve("small.ram");
        randomFile(ram, 0x1000);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PhysicalMemories.ramFile(ram, MemoryMap.identity(0x2000)));
        assertTrue(e.getMessage().contains(ram.toString()), e.getMessage());
    }

    @Test
    void missingFileIsNamed() {
        Path none = dir.resolve("nope.ram");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PhysicalMemories.rawImage(none));
        assertTrue(e.getMessage().contains(none.toString()) && e.getMessage().contains("does not exist"), e.getMessage());
    }
}
