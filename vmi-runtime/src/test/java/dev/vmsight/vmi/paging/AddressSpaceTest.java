package dev.vmsight.vmi.paging;

import static org.junit.jupiter.api.Assertions.*;

import dev.vmsight.vmi.GuestMemoryException;
import dev.vmsight.vmi.vcpu.VcpuState;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The masks of the paging modes, what a translation reports, the TLB's explicit invalidation, user-only spaces. */
class AddressSpaceTest {

    @Test
    void modeMasksAndWidths() {
        PagingMode four = PagingMode.fourLevel(), five = PagingMode.fiveLevel();
        assertEquals(48, four.linearBits());
        assertEquals(57, five.linearBits());
        assertEquals(0x0000_00FF_FFFF_F000L, four.addressMask());
        assertEquals(0x000F_FF00_0000_0000L, four.reservedMask(1, 0));
        assertEquals(0x000F_FF00_001F_E000L, four.reservedMask(2, PagingMode.PS)); // bit 12 is PAT
        assertEquals(0x000F_FF00_3FFF_E000L, four.reservedMask(3, PagingMode.PS));
        assertEquals(0x000F_FF00_0000_0000L | PagingMode.PS, four.reservedMask(4, PagingMode.PS));
        assertEquals(0x800F_FF00_0000_0000L, new PagingMode(4, 40, false).reservedMask(1, 0));
        assertTrue(four.isCanonical(0xFFFF_8000_0000_0000L));
        assertFalse(four.isCanonical(0x0000_8000_0000_0000L));
        assertTrue(five.isCanonical(0x0000_8000_0000_0000L));
        assertFalse(five.isCanonical(0x0100_0000_0000_0000L));
        VcpuState la57 = new VcpuState("t", Map.of("cr3", 0x1000L, "cr4", 1L << 12 | 1L << 5, "efer", 0xd01L));
        assertEquals(5, PagingMode.of(la57).levels());
        assertTrue(PagingMode.of(la57).nxe());
        VcpuState core = new VcpuState("ELF core", Map.of("cr3", 0x1000L, "cr4", 0x6f0L)); // no EFER in a core
        assertEquals(new PagingMode(4, 40, true), PagingMode.of(core));
    }

    @Test
    void translationReportsBitsAndTheTlbIsFlushedOnlyWhenAsked() {
        PageTables t = new PageTables(1 << 20, 4, 9);
        long va = 0xffff_8880_0012_3000L, kernelVa = 0xffff_ffff_8100_0000L;
        assertTrue(t.map(va, 1, 0x5000, PageTables.US | PageTables.XD));
        assertTrue(t.map(kernelVa, 2, 0, PageTables.RW));
        ByteArrayMemory mem = new ByteArrayMemory(t.ram);
        AddressSpace space = AddressSpace.of(mem, t.root | 0x18 /* PCID/flag bits are ignored */, PagingMode.fourLevel());

        Translation tr = space.translate(va + 0x10);
        assertEquals(new Translation(va + 0x10, 0x5010, 1, false, true, true), tr);
        assertEquals(0x1000, tr.pageSize());
        Translation big = space.translate(kernelVa + 0x1_2345);
        assertEquals(new Translation(kernelVa + 0x1_2345, 0x1_2345, 2, true, false, false), big);

        long before = space.read(va, 8);
        assertEquals(1, space.tlbMisses());
        // the guest remaps the page: the cached translation stays until flush() (nothing is invalidated behind the caller)
        long leaf = t.leafEntries.get(0)[0];
        t.setEntry(leaf, 0x6000 | PageTables.P);
        assertEquals(before, space.read(va, 8));
        assertEquals(1, space.tlbHits());
        space.flush();
        assertEquals(mem.readLong(0x6000), space.read(va, 8));
        t.setEntry(leaf, 0);
        space.flush();
        GuestMemoryException e = assertThrows(GuestMemoryException.class, () -> space.readLong(va));
        assertEquals(GuestMemoryException.Kind.NOT_PRESENT, e.kind());
        assertEquals(1, e.level());
        assertEquals(leaf, e.physicalAddress());
        assertEquals(va, e.linearAddress());
        assertTrue(e.getMessage().contains("0x" + Long.toHexString(va)) && e.getMessage().contains("level-1"), e.getMessage());

        AddressSpace user = space.userAccessOnly();
        GuestMemoryException p = assertThrows(GuestMemoryException.class, () -> user.read(kernelVa, 4));
        assertEquals(GuestMemoryException.Kind.PROTECTION, p.kind());
        assertEquals(2, p.level());
        assertEquals(space.read(kernelVa, 4), space.read(kernelVa, 4), "the kernel page reads without enforcement");

        GuestMemoryException w = assertThrows(GuestMemoryException.class, () -> space.write(kernelVa, 8, 1));
        assertEquals(GuestMemoryException.Kind.READ_ONLY, w.kind());
        assertThrows(IllegalArgumentException.class, () -> space.read(kernelVa, 3));
    }

    @Test
    void byteRangesCrossPagesAndFailBeforeCopyingAnything() {
        PageTables t = new PageTables(1 << 20, 5, 10);
        long va = 0x00ab_cdef_0000_0000L; // needs 5 levels
        assertTrue(t.map(va, 1, 0x3000, 0));
        assertTrue(t.map(va + 0x1000, 1, 0x9000, 0));
        ByteArrayMemory mem = new ByteArrayMemory(t.ram);
        AddressSpace space = AddressSpace.of(mem, t.root, PagingMode.fiveLevel());
        byte[] got = space.readBytes(va + 0xff0, 0x20);
        for (int i = 0; i < 0x20; i++) {
            assertEquals(t.ram[i < 0x10 ? 0x3ff0 + i : 0x9000 + i - 0x10], got[i], "byte " + i);
        }
        long crossing = space.read(va + 0xffc, 8);
        assertEquals(mem.readInt(0x3ffc) & 0xffffffffL | (long) mem.readInt(0x9000) << 32, crossing);

        byte[] dst = new byte[0x20];
        GuestMemoryException e = assertThrows(GuestMemoryException.class, () -> space.read(va + 0x1ff0, dst, 0, 0x20));
        assertEquals(va + 0x2000, e.linearAddress(), "the first byte that fails");
        assertArrayEquals(new byte[0x20], dst, "nothing copied before the fault");
        assertEquals(GuestMemoryException.Kind.NON_CANONICAL,
                assertThrows(GuestMemoryException.class, () -> space.read(0x0100_0000_0000_0000L, 1)).kind());
    }

    @Test
    void randomBytesAsPageTablesGiveOnlyValuesOrGuestMemoryErrors() {
        // a hostile or corrupted guest: every page-table entry is random; nothing but a value or a GuestMemoryException comes out
        java.util.Random r = new java.util.Random(99);
        byte[] ram = new byte[1 << 20];
        r.nextBytes(ram);
        for (int i = 0; i < ram.length; i += 8) {
            if (r.nextInt(3) == 0) { // some entries point back into RAM so that walks go deep
                long e = (long) r.nextInt(ram.length / 4096) * 4096 | (r.nextInt(8) == 0 ? 0x80 : 0) | 1;
                for (int b = 0; b < 8; b++) ram[i + b] = (byte) (e >>> (8 * b));
            }
        }
        ByteArrayMemory mem = new ByteArrayMemory(ram);
        java.util.EnumMap<GuestMemoryException.Kind, Integer> kinds = new java.util.EnumMap<>(GuestMemoryException.Kind.class);
        int values = 0;
        for (int levels : new int[]{4, 5}) {
            for (int t = 0; t < 20; t++) {
                AddressSpace space = AddressSpace.of(mem, (long) r.nextInt(256) * 4096, levels == 4 ? PagingMode.fourLevel() : PagingMode.fiveLevel());
                for (int i = 0; i < 5000; i++) {
                    long va = r.nextInt(4) == 0 ? r.nextLong() : r.nextLong() >> (64 - space.mode().linearBits());
                    try {
                        space.read(va, new int[]{1, 2, 4, 8}[r.nextInt(4)]);
                        values++;
                    } catch (GuestMemoryException e) {
                        kinds.merge(e.kind(), 1, Integer::sum);
                        assertNotNull(e.getMessage());
                    }
                }
            }
        }
        System.out.println("random page tables: " + values + " values, errors " + kinds);
        assertTrue(values > 0 && kinds.keySet().containsAll(java.util.List.of(GuestMemoryException.Kind.NON_CANONICAL,
                GuestMemoryException.Kind.NOT_PRESENT, GuestMemoryException.Kind.RESERVED_BITS,
                GuestMemoryException.Kind.PHYSICAL_UNREADABLE)), values + " " + kinds);
    }
}
