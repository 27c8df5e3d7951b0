package dev.vmsight.vmi.paging;

import static org.junit.jupiter.api.Assertions.*;

import dev.vmsight.vmi.GuestMemoryException;
import dev.vmsight.vmi.phys.PhysicalMemories;
import dev.vmsight.vmi.phys.PhysicalMemory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The overlay over an address space on a read-only mmap of a RAM file: stores are seen by later
 * loads, the file is untouched (a write through the mapping would fault: the JVM would throw
 * ReadOnlyBufferException), unmapped pages hold only what was stored.
 */
class CowOverlayTest {
    @TempDir Path dir;

    @Test
    void storesLandInTheOverlayAndTheRamFileIsNeverWritten() throws IOException, NoSuchAlgorithmException {
        PageTables t = new PageTables(1 << 20, 4, 5);
        long va = 0xffff_8880_0000_0000L;
        assertTrue(t.map(va, 1, 0x2000, PageTables.RW));
        assertTrue(t.map(va + 0x1000, 1, 0x7000, PageTables.RW));
        Path ram = dir.resolve("pc.ram");
        Files.write(ram, t.ram);
        byte[] digest = MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(ram));

        try (PhysicalMemory mem = PhysicalMemories.ramFile(ram, dev.vmsight.vmi.phys.MemoryMap.identity(t.ram.length))) {
            AddressSpace space = AddressSpace.of(mem, t.root, PagingMode.fourLevel());
            CowOverlay cow = new CowOverlay(space);
            long original = space.read(va + 0xffc, 8);
            cow.write(va + 0xffc, 8, 0x1122_3344_5566_7788L); // straddles two pages
            assertEquals(0x1122_3344_5566_7788L, cow.read(va + 0xffc, 8));
            assertEquals(0x5566_7788L, cow.read(va + 0xffc, 4));
            assertEquals(original, space.read(va + 0xffc, 8), "the base does not see the store");
            assertEquals(2, cow.pageCount());
            // bytes of the overlay page not stored keep the guest's values
            assertEquals(space.read(va + 0x10, 8), cow.read(va + 0x10, 8));
            byte[] range = cow.readBytes(va + 0xff0, 0x20);
            byte[] base = space.readBytes(va + 0xff0, 0x20);
            for (int i = 0; i < 0x20; i++) {
                boolean stored = i >= 0xc && i < 0x14;
                if (!stored) assertEquals(base[i], range[i], "byte " + i);
            }
            assertEquals((byte) 0x88, range[0xc]);

            // a page the guest does not map (the training process's stack, say): stores work, other bytes still fail
            long stack = 0x7ffd_0000_1000L;
            assertThrows(GuestMemoryException.class, () -> space.read(stack, 8));
            cow.write(stack + 8, 8, 42);
            assertEquals(42, cow.read(stack + 8, 8));
            assertEquals(GuestMemoryException.Kind.NOT_PRESENT,
                    assertThrows(GuestMemoryException.class, () -> cow.read(stack, 8)).kind());
            assertEquals(GuestMemoryException.Kind.NOT_PRESENT,
                    assertThrows(GuestMemoryException.class, () -> cow.read(stack + 4, 8)).kind(), "half stored, half not");

            Random r = new Random(1);
            for (int i = 0; i < 1000; i++) {
                long at = va + r.nextInt(0x2000 - 8);
                cow.write(at, 1 << r.nextInt(4), r.nextLong());
            }
            cow.clear();
            assertEquals(original, cow.read(va + 0xffc, 8), "clear() forgets every store");
        }
        assertArrayEquals(digest, MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(ram)), "the RAM file is unchanged");
    }
}
