package dev.vmsight.jit;

import dev.vmsight.vmi.GuestMemoryException;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Writes to a page the source cannot give (training never read it) read back; its other bytes stay
 * unreadable. Arena pages (ALLOCATE call summaries) behave so whatever the source could give.
 */
class MonitorMemoryTest {
    static final long MISSING = 0x4a6000L, PRESENT = 0x4a7000L;

    private static MonitorMemory memory() {
        return new MonitorMemory(page -> {
            if (page == PRESENT) {
                byte[] b = new byte[4096];
                java.util.Arrays.fill(b, (byte) 0x5a);
                return ByteBuffer.wrap(b).asReadOnlyBuffer();
            }
            throw new GuestMemoryException(GuestMemoryException.Kind.PHYSICAL_UNREADABLE, page, -1, 0, "not embedded");
        });
    }

    @Test
    void writtenBytesOfAnUnreadablePageReadBackAndTheOthersStillFail() {
        MonitorMemory m = memory();
        m.write(MISSING + 0x10, 2, 0xbeef);
        m.write(MISSING, 8, 0x1122334455667788L);
        assertEquals(0x1122334455667788L, m.read(MISSING, 8));
        assertEquals(0xbeefL, m.read(MISSING + 0x10, 2));
        assertEquals(0xefL, m.read(MISSING + 0x10, 1));
        GuestMemoryException e = assertThrows(GuestMemoryException.class, () -> m.read(MISSING + 0x11, 2));
        assertTrue(e.getMessage().contains("not embedded"), e.getMessage());
        assertThrows(GuestMemoryException.class, () -> m.read(MISSING + 0x100, 1));
    }

    @Test
    void arenaBytesExistOnlyOnceStoredAndTheSourceIsNeverAsked() {
        java.util.List<Long> asked = new java.util.ArrayList<>();
        MonitorMemory m = new MonitorMemory(page -> {     // a source that would give zeros for every page
            asked.add(page);
            return ByteBuffer.wrap(new byte[4096]).asReadOnlyBuffer();
        });
        long slot = Arena.slot(1);
        GuestMemoryException never = assertThrows(GuestMemoryException.class, () -> m.read(slot, 8));
        assertEquals(slot, never.linearAddress());
        assertEquals(GuestMemoryException.Kind.NOT_PRESENT, never.kind());
        m.write(slot + 4094, 4, 0xa1b2c3d4L);               // across the slot's first page
        assertEquals(0xa1b2c3d4L, m.read(slot + 4094, 4));
        assertEquals(0xc3d4L, m.read(slot + 4094, 2));
        assertEquals(0xa1b2L, m.read(slot + 4096, 2));
        assertEquals(slot + 4093, assertThrows(GuestMemoryException.class, () -> m.read(slot + 4093, 2)).linearAddress());
        assertEquals(slot + 4098, assertThrows(GuestMemoryException.class, () -> m.read(slot + 4096, 4)).linearAddress());
        assertTrue(asked.isEmpty(), "arena pages asked of the source: " + asked);
        assertTrue(m.overlay().isEmpty(), "arena pages are not overlay copies of guest pages");
        m.write(PRESENT, 1, 7);                             // a guest page still comes from the source
        assertEquals(java.util.List.of(PRESENT), asked);
    }

    @Test
    void aWriteAcrossIntoAReadablePageKeepsBothHalves() {
        MonitorMemory m = memory();
        m.write(PRESENT - 4, 8, 0x0102030405060708L);    // 4 bytes on the missing page, 4 on the present one
        assertEquals(0x0102030405060708L, m.read(PRESENT - 4, 8));
        assertEquals(0x5a5a5a5a01020304L, m.read(PRESENT, 8));
        assertEquals(1, m.overlay().size(), "the readable page is copied; the unreadable one is not listed");
    }

    @Test
    void zeroingStoresZerosAcrossArenaAndGuestPagesAndNothingBeyond() {
        MonitorMemory m = memory();
        long slot = Arena.slot(2);
        m.zero(slot + 4090, 12);                            // across the slot's first page
        assertEquals(0L, m.read(slot + 4090, 8));
        assertEquals(0L, m.read(slot + 4098, 4));
        assertEquals(slot + 4102, assertThrows(GuestMemoryException.class, () -> m.read(slot + 4100, 4)).linearAddress());
        assertEquals(slot + 4089, assertThrows(GuestMemoryException.class, () -> m.read(slot + 4089, 1)).linearAddress());
        m.write(slot + 4092, 2, 0xabcd);                    // a later store over zeroed bytes wins
        assertEquals(0xabcd0000L, m.read(slot + 4090, 4));
        m.zero(PRESENT + 8, 4);                             // a guest page: a zeroed copy, the source untouched
        assertEquals(0x5a5a5a5a00000000L, m.read(PRESENT + 8, 8));
        assertEquals(0x5a5a5a5a5a5a5a5aL, m.read(PRESENT, 8));
        m.zero(MISSING + 0x20, 2);                          // an unreadable page: zeroed bytes read back, the rest fail
        assertEquals(0L, m.read(MISSING + 0x20, 2));
        assertThrows(GuestMemoryException.class, () -> m.read(MISSING + 0x22, 1));
    }
}
