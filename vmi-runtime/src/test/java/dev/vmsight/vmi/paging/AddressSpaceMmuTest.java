package dev.vmsight.vmi.paging;

import static org.junit.jupiter.api.Assertions.*;

import dev.vmsight.ir.interp.CpuFault;
import dev.vmsight.ir.interp.Environment;
import dev.vmsight.ir.interp.MachineState;
import dev.vmsight.ir.sys.PhysMem;
import dev.vmsight.ir.sys.SystemMachine;
import dev.vmsight.ir.sys.SystemTables;
import dev.vmsight.ir.uop.Loc;
import dev.vmsight.vmi.GuestMemoryException;
import dev.vmsight.vmi.phys.PhysicalMemories;
import dev.vmsight.vmi.phys.PhysicalMemory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * AddressSpace against ir's MMU (SystemMachine.readVirtual, the emulator's own walker) on random
 * page tables: 4- and 5-level, 4 KiB / 2 MiB / 1 GiB leaves, not-present and reserved-bit entries,
 * tables and pages beyond RAM, non-canonical and page-crossing addresses. Every value, every
 * physical address and every failure (kind, level, entry address) must agree.
 */
class AddressSpaceMmuTest {
    private static final int RAM = 16 << 20;
    private static final Pattern LEVEL = Pattern.compile("level (\\d)");
    private static final Pattern ENTRY_AT = Pattern.compile("at physical 0x([0-9a-f]+)");

    @TempDir Path dir;

    @ParameterizedTest(name = "{0}-level paging, seed {1}")
    @CsvSource({"4, 1", "4, 2", "5, 3", "5, 4"})
    void everyTranslationAgreesWithTheEmulatorsMmu(int levels, long seed) throws IOException {
        Random r = new Random(seed);
        PageTables t = new PageTables(RAM, levels, seed);
        List<long[]> pages = new ArrayList<>(); // va, size
        for (int i = 0; i < 400; i++) {
            int leaf = new int[]{1, 1, 1, 1, 2, 2, 3}[r.nextInt(7)];
            long size = PagingMode.pageSize(leaf);
            long va = randomCanonical(r, levels) & -size;
            long frame = switch (leaf) {
                case 1 -> r.nextInt(20) == 0 ? 0x80_0000_0000L - 0x1000L * r.nextInt(100) : (long) r.nextInt(RAM / 2 / 4096) * 4096;
                case 2 -> r.nextInt(10) == 0 ? 0x4000_0000L : (long) r.nextInt(2) * 0x20_0000;
                default -> r.nextInt(5) == 0 ? 0x4000_0000L : 0;
            };
            long flags = (r.nextBoolean() ? PageTables.RW : 0) | (r.nextBoolean() ? PageTables.US : 0)
                    | (r.nextInt(4) == 0 ? PageTables.XD : 0);
            if (t.map(va, leaf, frame, flags)) pages.add(new long[]{va, size});
        }
        // damage: clear P, set reserved bits (above MAXPHYADDR 40, inside a large leaf's address, PS at the top), point tables beyond RAM
        for (int i = 0; i < 25; i++) {
            long[] e = t.leafEntries.get(r.nextInt(t.leafEntries.size()));
            long v = t.entry(e[0]);
            switch (r.nextInt(3)) {
                case 0 -> t.setEntry(e[0], v & ~PageTables.P);
                case 1 -> t.setEntry(e[0], v | 1L << (40 + r.nextInt(12)));
                default -> t.setEntry(e[0], e[1] > 1 ? v | 1L << 13 : v & ~PageTables.P);
            }
        }
        for (int i = 0; i < 8; i++) {
            long[] e = t.tableEntries.get(r.nextInt(t.tableEntries.size()));
            long v = t.entry(e[0]);
            switch (r.nextInt(3)) {
                case 0 -> t.setEntry(e[0], v & ~PageTables.P);
                case 1 -> t.setEntry(e[0], e[1] >= 4 ? v | PageTables.PS : v | 1L << 45);
                default -> t.setEntry(e[0], (v & 0xFFF) | 0x40_0000_0000L);
            }
        }

        Path file = dir.resolve("ram-" + levels + "-" + seed);
        Files.write(file, t.ram);
        SystemMachine oracle = oracle(t);
        long[] observedPa = new long[1];
        oracle.observe((va, pa, size, value, write) -> observedPa[0] = pa);
        int ok = 0, faults = 0;
        java.util.Set<String> seen = new java.util.TreeSet<>();
        try (PhysicalMemory mem = PhysicalMemories.rawImage(file)) {
            AddressSpace space = AddressSpace.of(mem, t.root, levels == 5 ? PagingMode.fiveLevel() : PagingMode.fourLevel());
            List<Long> queries = new ArrayList<>();
            for (long[] p : pages) {
                for (int k = 0; k < 4; k++) {
                    long off = p[1] > RAM ? r.nextInt(RAM) : (long) (r.nextDouble() * p[1]);
                    queries.add(p[0] + off);
                }
                queries.add(p[0] + p[1] - 3); // an 8-byte read that crosses into the next page
            }
            for (int i = 0; i < 500; i++) queries.add(randomCanonical(r, levels));
            for (int i = 0; i < 50; i++) queries.add(r.nextLong()); // mostly non-canonical
            for (int pass = 0; pass < 2; pass++) { // the second pass runs on a warm TLB
                for (long va : queries) {
                    int size = new int[]{1, 2, 4, 8}[r.nextInt(4)];
                    if ((va & 0xFFF) > 4088) size = 8;
                    Object want = oracleRead(oracle, va, size, observedPa);
                    Object got = mineRead(space, va, size);
                    assertEquals(want, got, "0x" + Long.toHexString(va) + " size " + size + " pass " + pass);
                    if (((String) want).startsWith("fault")) {
                        faults++;
                        seen.add(((String) want).split(" ")[1]);
                    } else {
                        ok++;
                        seen.add("leaf level " + space.translate(va).level());
                    }
                }
                oracle.flushTlb();
            }
            assertTrue(space.tlbHits() > 0, "the second pass hits the TLB");
        }
        System.out.println(levels + "-level seed " + seed + ": " + ok + " translations, " + faults + " faults agree");
        assertEquals(new java.util.TreeSet<>(List.of("NON_CANONICAL", "NOT_PRESENT", "RESERVED_BITS", "PHYSICAL_UNREADABLE",
                "leaf level 1", "leaf level 2", "leaf level 3")), seen, "every leaf size and every failure kind is exercised");
        assertTrue(ok > 1000 && faults > 400, ok + " translations, " + faults + " faults: both kinds must be exercised");
    }

    private static long randomCanonical(Random r, int levels) {
        int bits = 12 + 9 * levels;
        long va = r.nextLong() & ((1L << (bits - 1)) - 1);
        return r.nextBoolean() ? va : va | -(1L << (bits - 1)); // lower or upper half
    }

    private static SystemMachine oracle(PageTables t) {
        MachineState s = new MachineState();
        s.set(Loc.CR0, 1L << 31 | 1L << 16 | 1L << 4 | 1);     // PG WP ET PE
        s.set(Loc.CR4, 1L << 5 | (t.levels == 5 ? 1L << 12 : 0)); // PAE, LA57
        s.set(Loc.CR3, t.root);
        s.set(Loc.EFER, 1L << 8 | 1L << 10 | 1L << 11);         // LME LMA NXE
        s.set(Loc.SEL0 + 1, 0x10);                               // CPL 0
        // the oracle sets accessed bits: give it its own copy of RAM
        return new SystemMachine(s, PhysMem.of(t.ram.clone()), Environment.NONE, SystemTables.NONE, 40);
    }

    /** "value@pa" or a fault description comparable with {@link #mineRead}. */
    private static Object oracleRead(SystemMachine m, long va, int size, long[] pa) {
        try {
            long v = m.readVirtual(va, size);
            return "0x" + Long.toHexString(v) + "@0x" + Long.toHexString(pa[0]);
        } catch (CpuFault f) {
            if (f.vector() == CpuFault.GP) return "fault NON_CANONICAL" + at(va);
            assertEquals(CpuFault.PF, f.vector(), f.getMessage());
            Matcher level = LEVEL.matcher(f.getMessage());
            Matcher at = ENTRY_AT.matcher(f.getMessage());
            assertTrue(level.find() && at.find(), f.getMessage());
            String kind = (f.errorCode() & 8) != 0 ? "RESERVED_BITS" : "NOT_PRESENT";
            return "fault " + kind + " level " + level.group(1) + " entry 0x" + at.group(1) + at(f.address());
        } catch (IllegalArgumentException e) {
            // ir's byte-array RAM: "physical address 0x... is outside guest RAM"
            return "fault PHYSICAL_UNREADABLE";
        }
    }

    private static String at(long va) { return " va 0x" + Long.toHexString(va); }

    private static Object mineRead(AddressSpace space, long va, int size) {
        try {
            long v = space.read(va, size);
            return "0x" + Long.toHexString(v) + "@0x" + Long.toHexString(space.physical(va));
        } catch (GuestMemoryException e) {
            return switch (e.kind()) {
                case NON_CANONICAL -> "fault " + e.kind() + at(e.linearAddress());
                case PHYSICAL_UNREADABLE -> "fault " + e.kind();
                case NOT_PRESENT, RESERVED_BITS -> "fault " + e.kind() + " level " + e.level() + " entry 0x"
                        + Long.toHexString(e.physicalAddress()) + at(e.linearAddress());
                default -> fail("unexpected " + e);
            };
        }
    }
}
