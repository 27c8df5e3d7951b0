package dev.vmsight.vmi.phys;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Chunking of peeks (libvirt's 64 KiB limit) and the page cache's batching and invalidation. */
class PeekingAndCachingTest {
    private final byte[] guest = new byte[1 << 20];
    private final List<long[]> requests = new ArrayList<>(); // {addr, len}
    private final PhysicalPeek peek = (addr, dst) -> {
        requests.add(new long[] {addr, dst.remaining()});
        if (addr + dst.remaining() > guest.length) throw new IllegalStateException("peek beyond guest RAM");
        dst.put(guest, (int) addr, dst.remaining());
    };

    PeekingAndCachingTest() {
        new Random(7).nextBytes(guest);
    }

    @Test
    void peeksAreChunkedTo64KiB() {
        PhysicalMemory m = PhysicalMemories.peeking(peek, MemoryMap.identity(guest.length), "fake peek");
        byte[] got = m.readFully(0x1234, 300_000);
        assertArrayEquals(Arrays.copyOfRange(guest, 0x1234, 0x1234 + 300_000), got);
        assertEquals(5, requests.size());
        for (long[] r : requests) assertTrue(r[1] <= 65536, "request of " + r[1] + " bytes");
        assertEquals(0x1234 + 4 * 65536, requests.get(4)[0]);
    }

    @Test
    void peekFailureCarriesTheAddress() {
        PhysicalMemory m = PhysicalMemories.peeking((a, d) -> { throw new Exception("virDomainMemoryPeek failed"); },
                MemoryMap.identity(guest.length), "fake peek");
        PhysicalMemoryException e = assertThrows(PhysicalMemoryException.class, () -> m.readFully(0x5000, 16));
        assertEquals(0x5000, e.address());
        assertTrue(e.getMessage().contains("0x5000") && e.getMessage().contains("fake peek"), e.getMessage());
    }

    @Test
    void cacheBatchesMissesAndServesHits() {
        CachingPhysicalMemory c = new CachingPhysicalMemory(
                PhysicalMemories.peeking(peek, MemoryMap.identity(guest.length), "fake peek"), 1024);
        assertArrayEquals(Arrays.copyOfRange(guest, 0x10010, 0x10010 + 200_000), c.readFully(0x10010, 200_000));
        int pages = ((0x10010 + 200_000 - 1) / 4096 - 0x10010 / 4096 + 1);
        assertEquals(pages, c.misses());
        assertEquals((pages + 15) / 16, c.baseReads(), "runs of 16 pages = one 64 KiB peek each");
        int before = requests.size();
        assertEquals(c.readLong(0x20000), c.readLong(0x20000));
        assertEquals(before, requests.size(), "cached pages need no peek");
        assertTrue(c.hits() >= 2);
    }

    @Test
    void invalidationSeesNewGuestWrites() {
        CachingPhysicalMemory c = new CachingPhysicalMemory(
                PhysicalMemories.peeking(peek, MemoryMap.identity(guest.length), "fake peek"), 16);
        long old = c.readLong(0x3000);
        guest[0x3000] ^= (byte) 0xff; // the guest writes
        assertEquals(old, c.readLong(0x3000), "still cached until invalidated");
        c.invalidate(0x3000, 1);
        assertNotEquals(old, c.readLong(0x3000));
        c.readFully(0, 17 * 4096); // over the 16-page bound: eviction must not break reads
        assertArrayEquals(Arrays.copyOfRange(guest, 0, 4096), c.readFully(0, 4096));
    }

    @Test
    void cacheReportsHolesWithTheAddress() {
        CachingPhysicalMemory c = new CachingPhysicalMemory(
                PhysicalMemories.peeking(peek, MemoryMap.identity(0x8000), "fake peek"), 16);
        PhysicalMemoryException e = assertThrows(PhysicalMemoryException.class, () -> c.readFully(0x7ff0, 0x20));
        assertEquals(0x8000, e.address());
    }
}
