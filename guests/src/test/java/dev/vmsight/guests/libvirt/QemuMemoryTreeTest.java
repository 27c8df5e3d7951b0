package dev.vmsight.guests.libvirt;

import static org.junit.jupiter.api.Assertions.*;

import dev.vmsight.vmi.phys.MemoryMap;
import dev.vmsight.vmi.phys.MemoryMap.Segment;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The guest memory map from QEMU's own `info mtree -f` output (recorded from QEMU 7.2 on this lab's machines). */
class QemuMemoryTreeTest {

    @Test
    void fourGiBGuestIsSplitAroundThePciHole() throws IOException {
        String mtree;
        try (InputStream in = getClass().getResourceAsStream("mtree-pc-4g.txt")) {
            assertNotNull(in, "test resource mtree-pc-4g.txt");
            mtree = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        MemoryMap map = QemuMemoryTree.parse(mtree, "pc.ram");
        assertEquals(List.of(
                new Segment(0, 0xc0000, 0),                             // below the option ROMs / BIOS shadow
                new Segment(0x100000, 0xc0000000L - 0x100000, 0x100000), // up to the PCI hole at 3 GiB
                new Segment(0x1_0000_0000L, 0x4000_0000L, 0xc0000000L)),  // the last GiB lives above 4 GiB
                map.segments());
        assertEquals(0xc0000000L - 0x40000 + 0x40000000L, map.size());
    }

    @Test
    void smallLibvirtGuestIsIdentityWithRamAndRomPiecesMerged() {
        String mtree = """
            FlatView #0
             AS "I/O", root: io
             Root memory region: io
              0000000000000000-0000000000000007 (prio 0, i/o): dma-chan
            FlatView #1
             AS "memory", root: system
             AS "cpu-memory-0", root: system
             Root memory region: system
              0000000000000000-00000000000c2fff (prio 0, ram): pc.ram
              00000000000c3000-00000000000e7fff (prio 0, rom): pc.ram @00000000000c3000
              00000000000e8000-00000000000effff (prio 0, ram): pc.ram @00000000000e8000
              00000000000f0000-00000000000fffff (prio 0, rom): pc.ram @00000000000f0000
              0000000000100000-000000000fffffff (prio 0, ram): pc.ram @0000000000100000
              00000000fffc0000-00000000ffffffff (prio 0, rom): pc.bios
            FlatView #2
             AS "cpu-smm-0", root: memory
              0000000000000000-00000000000c2fff (prio 0, ram): pc.ram
            """;
        assertEquals(MemoryMap.identity(256L << 20), QemuMemoryTree.parse(mtree, "pc.ram"));
    }

    @Test
    void missingRegionIsNamed() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> QemuMemoryTree.parse("FlatView #0\n AS \"memory\", root: system\n", "ram-node0"));
        assertTrue(e.getMessage().contains("ram-node0"), e.getMessage());
    }
}
