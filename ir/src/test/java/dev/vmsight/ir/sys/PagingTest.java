package dev.vmsight.ir.sys;

import dev.vmsight.ir.interp.CpuFault;
import dev.vmsight.ir.interp.MachineState;
import dev.vmsight.ir.uop.Loc;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static dev.vmsight.ir.sys.PagingFormat.*;
import static dev.vmsight.ir.sys.SyntheticGuest.*;
import static org.junit.jupiter.api.Assertions.*;

/** The MMU against the SDM's rules (vol. 3 §4.5-4.10), on page tables built by {@link SyntheticGuest}. */
class PagingTest {

    @Test
    void formatMasksAndLeafSizes() {
        PagingFormat four = PagingFormat.fourLevel(40);
        PagingFormat five = PagingFormat.fiveLevel(52);
        assertEquals(48, four.linearBits());
        assertEquals(57, five.linearBits());
        assertEquals(0x1000, four.pageSize(1));
        assertEquals(0x20_0000, four.pageSize(2));
        assertEquals(0x4000_0000, four.pageSize(3));
        assertEquals(0x0000_00FF_FFFF_F000L, four.addressMask());
        assertEquals(0x000F_FFFF_FFFF_F000L, five.addressMask());
        assertEquals(0x0000_00FF_FFE0_0000L, four.leafAddressMask(2));
        assertEquals(0x0000_00FF_C000_0000L, four.leafAddressMask(3));
        // bits 40..51 reserved with MAXPHYADDR 40; XD reserved without NXE
        assertEquals(0x000F_FF00_0000_0000L, four.reservedMask(1, 0, true));
        assertEquals(0x800F_FF00_0000_0000L, four.reservedMask(1, 0, false));
        // a 2 MiB leaf: bits 13..20 reserved (12 is PAT); 1 GiB: 13..29; PS in the PML4 is reserved
        assertEquals(0x000F_FF00_001F_E000L, four.reservedMask(2, PS, true));
        assertEquals(0x000F_FF00_3FFF_E000L, four.reservedMask(3, PS, true));
        assertEquals(0x000F_FF00_0000_0000L | PS, four.reservedMask(4, PS, true));
        assertEquals(PS, five.reservedMask(5, PS, true));
        assertTrue(four.isCanonical(0x0000_7FFF_FFFF_FFFFL));
        assertTrue(four.isCanonical(0xFFFF_8000_0000_0000L));
        assertFalse(four.isCanonical(0x0000_8000_0000_0000L));
        assertTrue(five.isCanonical(0x00FF_FFFF_FFFF_FFFFL));
        assertFalse(five.isCanonical(0x0100_0000_0000_0000L));
        assertEquals(0x1ff, four.index(0xFFFF_FFFF_FFFF_F000L, 4));
        assertEquals(3, five.index(3L << 48, 5));
        assertThrows(IllegalArgumentException.class, () -> new PagingFormat(3, new int[]{2}, 40));
    }

    private static Mmu mmu(SyntheticGuest g, MachineState s) { return new Mmu(g.ram, s, 40); }

    @ParameterizedTest
    @ValueSource(ints = {4, 5})
    void translatesEachLeafSize(int levels) {
        SyntheticGuest g = new SyntheticGuest(levels);
        long va4k = levels == 5 ? 0x00AB_0000_0000_3000L : 0x0000_7000_0000_3000L;   // 5-level: above 48 bits
        g.map(va4k, 0x1234000, 0x1000, RW);
        g.map(0x4000_0000L * 5 + 0x20_0000 * 3, 0x60_0000, 0x20_0000, RW);
        g.map(0x4000_0000L * 9, 0, 0x4000_0000, RW);
        MachineState s = g.state(0);
        Mmu m = mmu(g, s);
        g.ram.write(0x1234ab8, 8, 0x1111);
        g.ram.write(0x60_0000 + 0x1_2345, 4, 0x2222);
        g.ram.write(0x2a_bcd8, 8, 0x3333);
        assertEquals(0x1111, m.read(va4k + 0xab8, 8));
        assertEquals(0x2222, m.read(0x4000_0000L * 5 + 0x20_0000 * 3 + 0x1_2345, 4));
        assertEquals(0x3333, m.read(0x4000_0000L * 9 + 0x2a_bcd8, 8));
        assertEquals(0x1234ab8, m.translate(va4k + 0xab8, Access.READ, false));
        assertEquals(levels == 5 ? 57 : 48, m.format().linearBits());
    }

    @Test
    void fiveLevelAddressFaultsUnderFourLevel() {
        SyntheticGuest g = new SyntheticGuest(4);
        CpuFault f = assertThrows(CpuFault.class, () -> mmu(g, g.state(0)).read(0x00AB_0000_0000_3000L, 8));
        assertEquals(CpuFault.GP, f.vector());
        assertEquals(0, f.errorCode());
    }

    private static CpuFault fault(Runnable r) { return assertThrows(CpuFault.class, r::run); }

    @Test
    void pageFaultErrorCodes() {
        SyntheticGuest g = new SyntheticGuest(4);
        MachineState user = g.state(3);
        Mmu mu = mmu(g, user);
        // not present, user read: U only; the fault carries the address for CR2
        CpuFault f = fault(() -> mu.read(0x90_0000, 8));
        assertEquals(CpuFault.PF, f.vector());
        assertEquals(PageFault.U, f.errorCode());
        assertEquals(0x90_0000, f.address());
        // user write to the read-only code page: P|W|U
        assertEquals(7, fault(() -> mu.write(USER_CODE + 8, 8, 1)).errorCode());
        // user read of a supervisor page: P|U
        assertEquals(5, fault(() -> mu.read(kva(0x5000), 8)).errorCode());
        // user fetch from a no-execute page: P|U|I/D
        assertEquals(0x15, fault(() -> mu.read(USER_DATA, 1, Access.FETCH, false)).errorCode());
        // reserved bit (bit 45 in a 4K PTE with MAXPHYADDR 40): P|RSVD, plus W for a write
        g.map(USER_DATA + 0x20000, 0x1100000 | 1L << 45, 0x1000, US | RW);
        assertEquals(0xF, fault(() -> mu.write(USER_DATA + 0x20000, 8, 0)).errorCode());
        MachineState kernel = g.state(0);
        Mmu mk = mmu(g, kernel);
        // supervisor fetch from a not-present page: I/D only
        assertEquals(PageFault.ID, fault(() -> mk.read(0x90_0000, 1, Access.FETCH, false)).errorCode());
        // supervisor write to read-only page with CR0.WP: P|W; allowed without WP
        assertEquals(3, fault(() -> mk.write(USER_CODE, 8, 1)).errorCode());
        kernel.set(Loc.CR0, kernel.get(Loc.CR0) & ~Mmu.CR0_WP);
        mk.flushAll();
        mk.write(USER_CODE, 8, 0x77);
        assertEquals(0x77, g.ram.read(USER_CODE_PA, 8));
        // a kernel-mode data access through the user stack (writable) is fine without SMAP
        mk.write(USER_DATA, 8, 5);
        assertEquals(5, mk.read(USER_DATA, 8));
    }

    @Test
    void smapAndSmep() {
        SyntheticGuest g = new SyntheticGuest(4);
        MachineState s = g.state(0);
        s.set(Loc.CR4, s.get(Loc.CR4) | Mmu.CR4_SMAP | Mmu.CR4_SMEP);
        Mmu m = mmu(g, s);
        g.ram.write(USER_DATA_PA, 8, 0xfeed);
        assertEquals(1, fault(() -> m.read(USER_DATA, 8)).errorCode());          // SMAP, AC clear: P
        assertEquals(3, fault(() -> m.write(USER_DATA, 8, 0)).errorCode());      // P|W
        s.set(Loc.AC, 1);                                                        // stac
        assertEquals(0xfeed, m.read(USER_DATA, 8));
        // implicit supervisor accesses (IDT, TSS...) to user pages are refused even with AC
        assertEquals(1, fault(() -> m.read(USER_DATA, 8, Access.READ, true)).errorCode());
        // SMEP: a supervisor fetch from user code faults with P|I/D
        assertEquals(0x11, fault(() -> m.read(USER_CODE, 1, Access.FETCH, false)).errorCode());
    }

    @Test
    void accessedAndDirtyBits() {
        SyntheticGuest g = new SyntheticGuest(4);
        Mmu m = mmu(g, g.state(3));
        long va = USER_DATA + 0x3000;
        long[] entries = new long[4];
        for (int level = 1; level <= 4; level++) {
            entries[level - 1] = g.entryAddress(va, level);
            assertEquals(0, g.ram.read(entries[level - 1], 8) & (A | D), "level " + level + " starts clean");
        }
        m.read(va, 8);
        for (int level = 1; level <= 4; level++) {
            assertEquals(A, g.ram.read(entries[level - 1], 8) & (A | D), "A (not D) after a read at level " + level);
        }
        m.write(va + 8, 8, 1);
        assertEquals(A | D, g.ram.read(entries[0], 8) & (A | D), "D on the leaf after a write");
        for (int level = 2; level <= 4; level++) {
            assertEquals(A, g.ram.read(entries[level - 1], 8) & (A | D), "no D above the leaf, level " + level);
        }
        // a 2 MiB leaf gets D too; a refused write sets no D
        long big = 0x4000_0000L * 3;
        g.map(big, 0x40_0000, 0x20_0000, RW | US);
        m.write(big + 0x1000, 8, 1);
        assertEquals(A | D, g.ram.read(g.entryAddress(big, 2), 8) & (A | D));
        long ro = USER_CODE + 0x2000;
        assertThrows(CpuFault.class, () -> m.write(ro, 8, 1));
        assertEquals(0, g.ram.read(g.entryAddress(ro, 1), 8) & D);
    }

    @Test
    void tlbFlushedByInvlpgAndCr3WritesKeepingGlobalPages() {
        SyntheticGuest g = new SyntheticGuest(4);
        MachineState s = g.state(0);
        Mmu m = mmu(g, s);
        long va = 0x7000_0000L;
        long globalVa = 0x7010_0000L;
        g.map(va, 0x1200000, 0x1000, RW);
        g.map(globalVa, 0x1210000, 0x1000, RW | G);
        g.ram.write(0x1200000, 8, 1);
        g.ram.write(0x1201000, 8, 2);
        g.ram.write(0x1210000, 8, 3);
        g.ram.write(0x1211000, 8, 4);
        assertEquals(1, m.read(va, 8));
        assertEquals(3, m.read(globalVa, 8));
        // remap both without telling the CPU: the TLB still holds the old frames
        g.map(va, 0x1201000, 0x1000, RW);
        g.map(globalVa, 0x1211000, 0x1000, RW | G);
        assertEquals(1, m.read(va, 8));
        assertEquals(3, m.read(globalVa, 8));
        m.invalidatePage(va);
        assertEquals(2, m.read(va, 8));
        // CR3 write with CR4.PGE keeps the global entry
        s.set(Loc.CR4, s.get(Loc.CR4) | Mmu.CR4_PGE);
        m.cr3Written();
        assertEquals(3, m.read(globalVa, 8));
        // without PGE a CR3 write flushes everything
        s.set(Loc.CR4, s.get(Loc.CR4) & ~Mmu.CR4_PGE);
        m.cr3Written();
        assertEquals(4, m.read(globalVa, 8));
    }

    @Test
    void invlpgDropsAWholeLargePage() {
        SyntheticGuest g = new SyntheticGuest(4);
        Mmu m = mmu(g, g.state(0));
        long va = 0x4000_0000L * 7;
        g.map(va, 0x40_0000, 0x20_0000, RW);
        m.read(va + 0x5000, 8);
        m.read(va + 0x9000, 8);
        g.map(va, 0x60_0000, 0x20_0000, RW);
        g.ram.write(0x60_9000, 8, 9);
        m.invalidatePage(va + 0x1_0000);   // any address in the 2 MiB page
        assertEquals(9, m.read(va + 0x9000, 8));
    }

    @Test
    void accessAcrossAPageBoundaryChecksBothPages() {
        SyntheticGuest g = new SyntheticGuest(4);
        Mmu m = mmu(g, g.state(3));
        long last = USER_DATA + 0x10000 - 4;   // the next page is unmapped
        CpuFault f = fault(() -> m.write(last, 8, -1L));
        assertEquals(USER_DATA + 0x10000, f.address());
        assertEquals(0, g.ram.read(USER_DATA_PA + 0x10000 - 4, 4), "nothing written when the second page faults");
        assertEquals(USER_DATA + 0x10000, fault(() -> m.read(last, 8)).address(), "a read reports the second page's first byte too");
        g.ram.write(USER_DATA_PA + 0xffc, 4, 0x44332211);
        g.ram.write(USER_DATA_PA + 0x1000, 4, 0x88776655);
        assertEquals(0x8877665544332211L, m.read(USER_DATA + 0xffc, 8));
    }

    @Test
    void copyOnWriteNeverWritesItsBase() {
        byte[] base = new byte[0x3000];
        base[0x1008] = 7;
        PhysMem cow = PhysMem.copyOnWrite(PhysMem.of(base));
        cow.write(0x1000, 8, 0x1122334455667788L);
        assertEquals(0x1122334455667788L, cow.read(0x1000, 8));
        assertEquals(7, cow.read(0x1008, 1));
        assertEquals(0, base[0x1000]);
        cow.write(0x1ffe, 4, 0xAABBCCDDL);   // across two pages
        assertEquals(0xAABBCCDDL, cow.read(0x1ffe, 4));
        assertEquals(0, base[0x2000]);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> cow.write(0x3000, 1, 0));
        assertTrue(e.getMessage().contains("0x3000"), e.getMessage());
    }
}
