package dev.vmsight.vmi.phys;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A synthetic memory-only core laid out as QEMU writes one: ELF header, one PT_NOTE (per vCPU an
 * NT_PRSTATUS "CORE" note and a "QEMU" note), two PT_LOAD segments with a hole between them.
 */
class ElfCoreMemoryTest {
    @TempDir Path dir;

    private static final long LOW = 0, LOW_LEN = 0x3000, HIGH = 0x100000, HIGH_LEN = 0x2000;
    private final byte[] low = new byte[(int) LOW_LEN], high = new byte[(int) HIGH_LEN];

    ElfCoreMemoryTest() {
        Random r = new Random(3);
        r.nextBytes(low);
        r.nextBytes(high);
    }

    private static byte[] note(String name, int type, byte[] desc) {
        byte[] n = (name + "\0").getBytes(StandardCharsets.US_ASCII);
        ByteBuffer b = ByteBuffer.allocate(12 + align4(n.length) + align4(desc.length)).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(n.length).putInt(desc.length).putInt(type).put(n);
        b.position(12 + align4(n.length));
        b.put(desc);
        return b.array();
    }

    private static int align4(int n) { return (n + 3) & ~3; }

    /** x86-64 elf_prstatus: 112 bytes of process info, then 27 registers. */
    private static byte[] prstatus(long base) {
        ByteBuffer b = ByteBuffer.allocate(336).order(ByteOrder.LITTLE_ENDIAN);
        for (int r = 0; r < 27; r++) b.putLong(112 + 8 * r, base + r); // r15 = base, ..., rip = base+16, rsp = base+19
        return b.array();
    }

    /** QEMUCPUState version 1: 18 GPRs, 10 segments, cr[5], kernel_gs_base = 440 bytes. */
    private static byte[] qemuState(long base) {
        ByteBuffer b = ByteBuffer.allocate(440).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0, 1).putInt(4, 440);
        for (int r = 0; r < 18; r++) b.putLong(8 + 8 * r, base + 0x100 + r); // rax .. rflags
        for (int s = 0; s < 10; s++) {
            b.putInt(152 + 24 * s, 0x10 + s);
            b.putLong(152 + 24 * s + 16, base + 0x200 + s);
        }
        for (int c = 0; c < 5; c++) b.putLong(392 + 8 * c, base + 0x300 + c);
        b.putLong(432, base + 0x400);
        return b.array();
    }

    private Path writeCore(boolean truncate) throws IOException {
        return writeCore(truncate, false);
    }

    /** {@code xnum}: e_phnum = PN_XNUM and the count in section header 0's sh_info, as QEMU does for many segments. */
    private Path writeCore(boolean truncate, boolean xnum) throws IOException {
        ByteArrayOutputStream notes = new ByteArrayOutputStream();
        for (int cpu = 0; cpu < 2; cpu++) {
            notes.writeBytes(note("CORE", 1, prstatus(cpu * 0x10000L)));
            notes.writeBytes(note("QEMU", 0, qemuState(cpu * 0x10000L)));
        }
        notes.writeBytes(note("VMCOREINFO", 0, "OSRELEASE=6.1.0-56-amd64\nPAGESIZE=4096\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
        int phoff = 64, phnum = 3;
        long shoff = phoff + 56L * phnum;
        long notesOff = shoff + (xnum ? 64 : 0);
        long lowOff = notesOff + notes.size(), highOff = lowOff + LOW_LEN;
        ByteBuffer h = ByteBuffer.allocate((int) notesOff).order(ByteOrder.LITTLE_ENDIAN);
        h.put(new byte[] {0x7f, 'E', 'L', 'F', 2, 1, 1});
        h.putShort(16, (short) 4).putShort(18, (short) 62).putInt(20, 1);
        h.putLong(0x20, phoff).putShort(0x34, (short) 64).putShort(0x36, (short) 56).putShort(0x38, (short) (xnum ? 0xffff : phnum));
        if (xnum) h.putLong(0x28, shoff).putShort(0x3a, (short) 64).putShort(0x3c, (short) 1).putInt((int) shoff + 0x2c, phnum);
        long[][] ph = {{4, notesOff, 0, notes.size()}, {1, lowOff, LOW, LOW_LEN}, {1, highOff, HIGH, HIGH_LEN}};
        for (int i = 0; i < phnum; i++) {
            int at = phoff + 56 * i;
            h.putInt(at, (int) ph[i][0]).putLong(at + 8, ph[i][1]).putLong(at + 16, ph[i][2])
                    .putLong(at + 24, ph[i][2]).putLong(at + 32, ph[i][3]).putLong(at + 40, ph[i][3]);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(h.array());
        out.writeBytes(notes.toByteArray());
        out.writeBytes(low);
        out.writeBytes(truncate ? Arrays.copyOf(high, 0x100) : high);
        Path core = dir.resolve("core.elf");
        Files.write(core, out.toByteArray());
        return core;
    }

    @Test
    void loadSegmentsAreGuestPhysicalMemory() throws IOException {
        try (ElfCore core = PhysicalMemories.elfCore(writeCore(false))) {
            assertEquals(2, core.map().segments().size());
            assertEquals(LOW_LEN + HIGH_LEN, core.size());
            assertArrayEquals(low, core.readFully(LOW, (int) LOW_LEN));
            assertArrayEquals(Arrays.copyOfRange(high, 0x10, 0x1010), core.readFully(HIGH + 0x10, 0x1000));
            PhysicalMemoryException e = assertThrows(PhysicalMemoryException.class, () -> core.readFully(LOW_LEN - 8, 16));
            assertEquals(LOW_LEN, e.address());
            assertTrue(e.getMessage().contains("0x3000") && e.getMessage().contains("core.elf"), e.getMessage());
        }
    }

    @Test
    void pagesInsideOneSegmentAreViewsOfTheFileWithoutACopy() throws IOException {
        try (ElfCore core = PhysicalMemories.elfCore(writeCore(false))) {
            java.nio.ByteBuffer page = core.view(HIGH + 0x1000, 0x1000);
            assertNotNull(page, "a page inside the high segment");
            assertTrue(page.isReadOnly() || !page.hasArray(), "a slice of the mapping, not a copy");
            byte[] got = new byte[0x1000];
            page.get(0, got);
            assertArrayEquals(Arrays.copyOfRange(high, 0x1000, 0x2000), got);
            assertNull(core.view(LOW_LEN - 8, 16), "across the end of a segment: read it instead");
            assertNull(core.view(0x50000, 8), "in the hole between segments");
        }
    }

    @Test
    void cpuNotesGiveRegistersPerVcpu() throws IOException {
        try (ElfCore core = PhysicalMemories.elfCore(writeCore(false))) {
            assertEquals(2, core.cpus().size());
            CoreCpuState cpu1 = core.cpus().get(1);
            assertEquals(1, cpu1.index());
            assertEquals(0x10000L + 0x100 + 16, cpu1.rip(), "QEMU note: rip is GPR 16");
            assertEquals(0x10000L + 0x100 + 6, cpu1.rsp(), "QEMU note: rsp is GPR 6");
            assertEquals(0x10000L + 0x300 + 3, cpu1.cr3());
            assertEquals(0x10000L + 0x300 + 0, cpu1.get("cr0"));
            assertEquals(0x10000L + 0x400, cpu1.get("kernel_gs_base"));
            assertEquals(0x10000L + 0x200 + 4, cpu1.get("gs_base"));
            assertEquals(0x10, cpu1.get("cs"));
            assertEquals(0x10000L + 0x100 + 5, cpu1.get("rdi"), "the QEMU note wins over NT_PRSTATUS");
            assertEquals(0x10000L + 15, cpu1.get("orig_rax"), "only NT_PRSTATUS has orig_rax");
            assertTrue(cpu1.find("cr1").isEmpty());
            assertEquals(java.util.Set.of("CORE", "QEMU", "VMCOREINFO"), core.noteNames(), "the kernel's VMCOREINFO is a note too, not a vCPU");
        }
    }

    @Test
    void programHeaderCountFromSectionZeroWhenPnXnum() throws IOException {
        try (ElfCore core = PhysicalMemories.elfCore(writeCore(false, true))) {
            assertEquals(2, core.map().segments().size());
            assertArrayEquals(high, core.readFully(HIGH, (int) HIGH_LEN));
            assertEquals(2, core.cpus().size());
        }
    }

    @Test
    void truncatedCoreIsRejectedWithItsName() throws IOException {
        Path core = writeCore(true);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PhysicalMemories.elfCore(core));
        assertTrue(e.getMessage().contains("truncated") && e.getMessage().contains(core.toString()), e.getMessage());
    }

    @Test
    void nonElfIsRejected() throws IOException {
        Path f = dir.resolve("not-a-core");
        Files.write(f, new byte[128]);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PhysicalMemories.elfCore(f));
        assertTrue(e.getMessage().contains("not an ELF"), e.getMessage());
    }
}
