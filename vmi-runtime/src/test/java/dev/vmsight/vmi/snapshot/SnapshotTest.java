package dev.vmsight.vmi.snapshot;

import static org.junit.jupiter.api.Assertions.*;

import dev.vmsight.vmi.phys.MemoryMap;
import dev.vmsight.vmi.phys.PhysicalMemories;
import dev.vmsight.vmi.phys.PhysicalMemory;
import dev.vmsight.vmi.phys.PhysicalMemoryException;
import dev.vmsight.vmi.vcpu.VcpuState;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Snapshots against the RAM file they were written from: every byte, the registers, the metadata, and damage. */
class SnapshotTest {
    private static final int PAGE = 4096;
    @TempDir Path dir;

    private byte[] ram;
    private Path ramFile;
    private MemoryMap map;
    private long nonZeroPages;
    private final VcpuState regs = new VcpuState("test", Map.of("rip", 0xffffffff81000000L, "cr3", 0x1234000L,
            "rsp", -8L, "gdt_base", 0xfffffe0000001000L, "gdt_limit", 0x7fL, "mxcsr", 0x1f80L));
    private final Map<String, String> meta = new LinkedHashMap<>(Map.of("kernel", "6.1.0-56-amd64", "mark", "START",
            "program", "pslist", "note", "ünïcode ✓"));

    @BeforeEach
    void guestRam() throws IOException {
        // 1.5 MiB at 0 and 512 KiB at 4 GiB (as around the PCI hole), stored back to back; a mix of
        // zero pages, random pages and repetitive pages, with groups that are entirely zero.
        ram = new byte[2 << 20];
        Random r = new Random(7);
        for (int p = 0; p < ram.length / PAGE; p++) {
            int kind = r.nextInt(4);
            if (p >= 128 && p < 192) kind = 0; // a whole group of zeros
            if (kind == 1) {
                byte[] page = new byte[PAGE];
                r.nextBytes(page);
                System.arraycopy(page, 0, ram, p * PAGE, PAGE);
            } else if (kind == 2) {
                for (int i = 0; i < PAGE; i += 8) ram[p * PAGE + i] = (byte) (i / 8);
            } else if (kind == 3) {
                ram[p * PAGE + r.nextInt(PAGE)] = (byte) (1 + r.nextInt(255)); // one non-zero byte
            }
            if (kind != 0) nonZeroPages++;
        }
        ramFile = dir.resolve("pc.ram");
        Files.write(ramFile, ram);
        map = new MemoryMap(List.of(new MemoryMap.Segment(0, 0x18_0000, 0),
                new MemoryMap.Segment(0x1_0000_0000L, 0x8_0000, 0x18_0000)));
    }

    private Path write() {
        Path out = dir.resolve("start.vmsnap");
        try (PhysicalMemory src = PhysicalMemories.ramFile(ramFile, map)) {
            SnapshotSummary s = SnapshotWriter.write(out, meta, regs, src);
            assertEquals(nonZeroPages, s.storedPages());
            assertEquals(ram.length, s.ramBytes());
        }
        return out;
    }

    private long physToFile(long phys) {
        return phys >= 0x1_0000_0000L ? phys - 0x1_0000_0000L + 0x18_0000 : phys;
    }

    @Test
    void everyByteMetadataAndRegistersComeBack() throws IOException {
        Path out = write();
        assertTrue(Files.size(out) < ram.length, "sparse + compressed: " + Files.size(out) + " bytes");
        try (Snapshot s = Snapshot.open(out)) {
            assertEquals(meta, s.metadata());
            assertEquals(regs.registers(), s.registers().registers());
            assertEquals(map.segments().stream().map(g -> List.of(g.physStart(), g.length())).toList(),
                    s.map().segments().stream().map(g -> List.of(g.physStart(), g.length())).toList());
            assertEquals(nonZeroPages, s.storedPages());
            assertEquals(nonZeroPages, s.verify());
            // whole segments in one read, and page-crossing reads at random places
            assertArrayEquals(Arrays.copyOf(ram, 0x18_0000), s.readFully(0, 0x18_0000));
            assertArrayEquals(Arrays.copyOfRange(ram, 0x18_0000, ram.length), s.readFully(0x1_0000_0000L, 0x8_0000));
            Random r = new Random(11);
            for (int i = 0; i < 2000; i++) {
                boolean high = r.nextBoolean();
                long phys = high ? 0x1_0000_0000L + r.nextInt(0x8_0000 - 64) : r.nextInt(0x18_0000 - 9000);
                int len = 1 + r.nextInt(high ? 64 : 9000);
                int f = (int) physToFile(phys);
                assertArrayEquals(Arrays.copyOfRange(ram, f, f + len), s.readFully(phys, len), "at 0x" + Long.toHexString(phys));
            }
            long want = ByteBuffer.wrap(ram, 0x1234, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
            assertEquals(want, s.readLong(0x1234));
        }
    }

    @Test
    void readsOutsideTheMapNameTheFirstMissingAddress() {
        try (Snapshot s = Snapshot.open(write())) {
            PhysicalMemoryException e = assertThrows(PhysicalMemoryException.class, () -> s.readFully(0x17_fff0, 0x20));
            assertEquals(0x18_0000, e.address());
            assertTrue(e.getMessage().contains("snapshot") && e.getMessage().contains("0x180000"), e.getMessage());
            assertThrows(PhysicalMemoryException.class, () -> s.readFully(0x1_0008_0000L, 1));
        }
    }

    @Test
    void aFlippedByteInAGroupIsReportedWithItsOffset() throws IOException {
        Path out = write();
        byte[] file = Files.readAllBytes(out);
        long firstGroup;
        try (Snapshot s = Snapshot.open(out)) {
            firstGroup = s.verifyOffsets()[0];
        }
        file[(int) firstGroup + 5] ^= 0x40;
        Files.write(out, file);
        try (Snapshot s = Snapshot.open(out)) { // header and index are intact
            SnapshotFormatException e = assertThrows(SnapshotFormatException.class, s::verify);
            assertEquals(firstGroup, e.offset());
            assertEquals(out, e.file());
            assertTrue(e.getMessage().contains(out.toString()) && e.getMessage().contains("byte offset " + firstGroup), e.getMessage());
            // page 1 is in group 0 (it is not all zero in the fixture only if stored; read the whole group to be sure)
            assertThrows(SnapshotFormatException.class, () -> s.readFully(0, 64 * PAGE));
        }
    }

    @Test
    void truncatedOrForeignFilesAreRejectedWithFileAndOffset() throws IOException {
        Path out = write();
        byte[] file = Files.readAllBytes(out);
        for (int len : new int[]{0, 7, 40, file.length / 2, file.length - 1}) {
            Path cut = dir.resolve("cut-" + len);
            Files.write(cut, Arrays.copyOf(file, len));
            SnapshotFormatException e = assertThrows(SnapshotFormatException.class, () -> Snapshot.open(cut).close(), "length " + len);
            assertTrue(e.getMessage().contains(cut.toString()), e.getMessage());
            assertTrue(e.offset() >= 0 && e.offset() <= len, e.offset() + " in " + len);
        }
        Path foreign = dir.resolve("foreign");
        Files.write(foreign, Arrays.copyOf("\u007fELF".getBytes(), 4096));
        SnapshotFormatException e = assertThrows(SnapshotFormatException.class, () -> Snapshot.open(foreign));
        assertEquals(0, e.offset());
        assertTrue(e.getMessage().contains("not a vmsight snapshot"), e.getMessage());

        byte[] badHeader = file.clone();
        badHeader[30] ^= 1; // inside the header body
        Path h = dir.resolve("bad-header");
        Files.write(h, badHeader);
        assertTrue(assertThrows(SnapshotFormatException.class, () -> Snapshot.open(h)).getMessage().contains("header CRC"));

        byte[] badIndex = file.clone();
        badIndex[file.length - 32 - 10] ^= 1; // inside the last index entry
        Path i = dir.resolve("bad-index");
        Files.write(i, badIndex);
        assertTrue(assertThrows(SnapshotFormatException.class, () -> Snapshot.open(i)).getMessage().contains("index CRC"));
        assertThrows(IllegalArgumentException.class, () -> Snapshot.open(dir.resolve("absent")));
    }

    @Test
    void unalignedSegmentsAreRefusedByTheWriter() throws IOException {
        MemoryMap odd = new MemoryMap(List.of(new MemoryMap.Segment(0, 0x1800, 0)));
        try (PhysicalMemory src = PhysicalMemories.ramFile(ramFile, odd)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> SnapshotWriter.write(dir.resolve("x"), Map.of(), regs, src));
            assertTrue(e.getMessage().contains("0x1800"), e.getMessage());
            assertFalse(Files.exists(dir.resolve("x")));
        }
    }
}
