package dev.vmsight.vmi.phys;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Where guest-physical memory lives in a backing store: a sorted table of segments, each a
 * guest-physical range and the offset of its first byte in the store (a RAM file, an ELF core,
 * ...). Lookups bisect the table. A RAM file offset is not a guest-physical address in general:
 * guests above ~3 GiB are split around the PCI hole, so the map is explicit, never assumed.
 */
public record MemoryMap(List<Segment> segments) {

    /** Guest-physical {@code [physStart, physStart+length)} stored at {@code backingOffset}. */
    public record Segment(long physStart, long length, long backingOffset) {
        public Segment {
            if (physStart < 0 || length <= 0 || backingOffset < 0) {
                throw new IllegalArgumentException("bad segment phys=0x" + Long.toHexString(physStart)
                        + " length=0x" + Long.toHexString(length) + " offset=0x" + Long.toHexString(backingOffset));
            }
        }

        /** One past the last guest-physical address. */
        public long physEnd() { return physStart + length; }

        boolean contains(long phys) { return phys >= physStart && phys < physEnd(); }
    }

    public MemoryMap {
        List<Segment> sorted = new ArrayList<>(segments);
        sorted.sort(Comparator.comparingLong(Segment::physStart));
        for (int i = 1; i < sorted.size(); i++) {
            Segment prev = sorted.get(i - 1), next = sorted.get(i);
            if (next.physStart() < prev.physEnd()) {
                throw new IllegalArgumentException("memory map segments overlap at guest-physical 0x"
                        + Long.toHexString(next.physStart()));
            }
        }
        segments = List.copyOf(sorted);
    }

    /**
     * The map of segments that may hold the same guest-physical bytes more than once, each copy
     * equal: a paging ELF core (QMP {@code dump-guest-memory} with {@code paging: true}) writes a
     * physical page once per virtual mapping of it. Each byte is taken from the segment that starts
     * lowest (the longest of those); later copies are trimmed or dropped.
     */
    public static MemoryMap ofCopies(List<Segment> segments) {
        List<Segment> sorted = new ArrayList<>(segments);
        sorted.sort(Comparator.comparingLong(Segment::physStart).thenComparing(Comparator.comparingLong(Segment::length).reversed()));
        List<Segment> kept = new ArrayList<>();
        long covered = Long.MIN_VALUE;
        for (Segment s : sorted) {
            if (s.physEnd() <= covered) continue;
            long skip = Math.max(0, covered - s.physStart());
            kept.add(skip == 0 ? s : new Segment(s.physStart() + skip, s.length() - skip, s.backingOffset() + skip));
            covered = s.physEnd();
        }
        return new MemoryMap(kept);
    }

    /** Guest-physical {@code [0, size)} stored from offset 0: a small pc guest's RAM file, a raw image. */
    public static MemoryMap identity(long size) {
        return new MemoryMap(List.of(new Segment(0, size, 0)));
    }

    /** Total bytes of the segments. */
    public long size() {
        return segments.stream().mapToLong(Segment::length).sum();
    }

    /** Index of the segment containing {@code phys}, or {@code -(insertion point) - 1} (bisection). */
    public int indexOf(long phys) {
        int lo = 0, hi = segments.size() - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            Segment s = segments.get(mid);
            if (phys < s.physStart()) hi = mid - 1;
            else if (phys >= s.physEnd()) lo = mid + 1;
            else return mid;
        }
        return -lo - 1;
    }

    /** Whether every byte of {@code [phys, phys+len)} is in some segment. */
    public boolean covers(long phys, long len) {
        long at = phys, end = phys + len;
        while (at < end) {
            int i = indexOf(at);
            if (i < 0) return false;
            at = segments.get(i).physEnd();
        }
        return true;
    }

    /**
     * The backing-store offset of {@code [phys, phys+len)} when the range lies in one segment, else
     * -1 (a hole, or a segment boundary inside it): where a source can hand out a view without copying.
     */
    public long backingOffsetWithin(long phys, int len) {
        int i = indexOf(phys);
        if (i < 0) return -1;
        Segment s = segments.get(i);
        return phys + len > s.physEnd() ? -1 : s.backingOffset() + (phys - s.physStart());
    }

    /** Receives the backing-store pieces of a guest-physical range, in address order. */
    @FunctionalInterface
    interface PieceReader {
        void read(long backingOffset, byte[] dst, int off, int len);
    }

    /**
     * Splits {@code [phys, phys+len)} at segment boundaries and hands each piece to {@code reader};
     * throws naming the first address that is in no segment.
     */
    void readPieces(String source, long phys, byte[] dst, int off, int len, PieceReader reader) {
        java.util.Objects.checkFromIndexSize(off, len, dst.length);
        if (phys < 0 || phys + len < phys) {
            throw new PhysicalMemoryException(source, phys, len, "address out of range");
        }
        long at = phys;
        int done = 0;
        int i = indexOf(at);
        while (done < len) {
            if (i < 0 || i >= segments.size() || !segments.get(i).contains(at)) {
                throw new PhysicalMemoryException(source, at, len - done,
                        "not guest RAM (outside every segment of the memory map " + describeRanges() + ")");
            }
            Segment s = segments.get(i);
            int n = (int) Math.min(len - done, s.physEnd() - at);
            reader.read(s.backingOffset() + (at - s.physStart()), dst, off + done, n);
            done += n;
            at += n;
            i++;
        }
    }

    private String describeRanges() {
        StringBuilder b = new StringBuilder();
        for (Segment s : segments) {
            if (b.length() > 0) b.append(' ');
            if (b.length() > 160) { b.append("..."); break; }
            b.append("0x").append(Long.toHexString(s.physStart())).append("-0x").append(Long.toHexString(s.physEnd()));
        }
        return b.toString();
    }
}
