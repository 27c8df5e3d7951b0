package dev.vmsight.guests.libvirt;

import dev.vmsight.vmi.phys.MemoryMap;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the guest memory map from QEMU's HMP {@code info mtree -f}: in the flat view of address
 * space "memory", every range backed by the RAM region {@code ramRegion} (the memory backend's id,
 * "pc.ram" under libvirt) gives guest-physical start/end and the offset inside the region, which
 * is the offset in the backend's file. Adjacent ram/rom pieces are merged.
 */
final class QemuMemoryTree {
    // "  0000000000100000-000000000fffffff (prio 0, ram): pc.ram @0000000000100000"
    private static final Pattern RANGE = Pattern.compile(
            "^\\s*([0-9a-f]+)-([0-9a-f]+) \\(prio -?\\d+, (?:ram|rom)(?:d)?\\): (\\S+)(?: @([0-9a-f]+))?.*$");

    private QemuMemoryTree() {
    }

    static MemoryMap parse(String mtree, String ramRegion) {
        List<MemoryMap.Segment> out = new ArrayList<>();
        boolean inView = false, memoryView = false;
        for (String line : mtree.split("\\R")) {
            if (line.startsWith("FlatView #")) {
                if (memoryView) break; // the view holding AS "memory" is complete
                inView = true;
                continue;
            }
            if (!inView) continue;
            if (line.strip().startsWith("AS \"memory\"")) {
                memoryView = true;
                continue;
            }
            if (!memoryView) continue;
            Matcher m = RANGE.matcher(line);
            if (!m.matches() || !m.group(3).equals(ramRegion)) continue;
            long start = Long.parseUnsignedLong(m.group(1), 16), end = Long.parseUnsignedLong(m.group(2), 16);
            long offset = m.group(4) == null ? 0 : Long.parseUnsignedLong(m.group(4), 16);
            long length = end - start + 1;
            MemoryMap.Segment last = out.isEmpty() ? null : out.get(out.size() - 1);
            if (last != null && last.physEnd() == start && last.backingOffset() + last.length() == offset) {
                out.set(out.size() - 1, new MemoryMap.Segment(last.physStart(), last.length() + length, last.backingOffset()));
            } else {
                out.add(new MemoryMap.Segment(start, length, offset));
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("QEMU's memory tree (info mtree -f) has no range of RAM region '" + ramRegion
                    + "' in address space \"memory\"");
        }
        return new MemoryMap(out);
    }
}
