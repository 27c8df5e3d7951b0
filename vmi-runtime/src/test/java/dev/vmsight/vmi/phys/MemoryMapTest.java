package dev.vmsight.vmi.phys;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.junit.jupiter.api.Test;

class MemoryMapTest {
    private final MemoryMap map = new MemoryMap(List.of(
            new MemoryMap.Segment(0x100000, 0x1000, 0x2000),
            new MemoryMap.Segment(0, 0xa0000, 0x10000)));

    @Test
    void segmentsAreSortedAndBisected() {
        assertEquals(0, map.segments().get(0).physStart());
        assertEquals(0, map.indexOf(0));
        assertEquals(0, map.indexOf(0x9ffff));
        assertEquals(-2, map.indexOf(0xa0000)); // in the hole: insertion point 1
        assertEquals(1, map.indexOf(0x100fff));
        assertEquals(-3, map.indexOf(0x101000));
        assertEquals(0xa1000, map.size());
    }

    @Test
    void coversStopsAtHoles() {
        assertTrue(map.covers(0x9f000, 0x1000));
        assertFalse(map.covers(0x9f000, 0x1001));
        assertTrue(map.covers(0x100000, 0x1000));
    }

    @Test
    void aRangeInsideOneSegmentHasOneBackingOffset() {
        assertEquals(0x10000 + 0x9f000, map.backingOffsetWithin(0x9f000, 0x1000));
        assertEquals(0x2000 + 0x10, map.backingOffsetWithin(0x100010, 8));
        assertEquals(-1, map.backingOffsetWithin(0x9f000, 0x1001), "past the segment's end");
        assertEquals(-1, map.backingOffsetWithin(0xa0000, 8), "in the hole");
    }

    @Test
    void overlappingSegmentsAreRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new MemoryMap(List.of(
                new MemoryMap.Segment(0, 0x2000, 0), new MemoryMap.Segment(0x1000, 0x1000, 0x2000))));
        assertTrue(e.getMessage().contains("0x1000"), e.getMessage());
    }

    @Test
    void copiesOfThePhysicalBytesAreTakenOnceFromTheLowestSegment() {
        // a paging core: the kernel image's pages under the direct map and again under __START_KERNEL_map
        MemoryMap m = MemoryMap.ofCopies(List.of(
                new MemoryMap.Segment(0x1000000, 0x200000, 0x900000),     // image mapping, same bytes again
                new MemoryMap.Segment(0, 0x2000000, 0x1000),              // direct map of all RAM
                new MemoryMap.Segment(0x1f00000, 0x200000, 0xa00000)));   // straddles the end of RAM's segment
        assertEquals(2, m.segments().size());
        assertEquals(new MemoryMap.Segment(0, 0x2000000, 0x1000), m.segments().get(0));
        assertEquals(new MemoryMap.Segment(0x2000000, 0x100000, 0xa00000 + 0x100000), m.segments().get(1));
        assertEquals(0x2100000, m.size());
    }
}
