package dev.vmsight.vmi.phys;

import java.nio.ByteBuffer;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;

/**
 * A read-only view of another {@link PhysicalMemory} with a few bytes replaced: what a monitor's
 * run context changes in its own view of the guest (the per-CPU {@code current_task} slot set to
 * the task the run executes as). The guest is never written; the base stays the caller's (closing
 * this view does not close it). Pages holding a patched byte are not given as zero-copy views.
 */
public final class PatchedMemory implements PhysicalMemory {
    private final PhysicalMemory base;
    private final NavigableMap<Long, Byte> bytes;
    private final String why;

    private PatchedMemory(PhysicalMemory base, NavigableMap<Long, Byte> bytes, String why) {
        this.base = base;
        this.bytes = bytes;
        this.why = why;
    }

    /** {@code base} with the 8 bytes at {@code physAddr} reading as {@code value} (little-endian). */
    public static PatchedMemory of(PhysicalMemory base, long physAddr, long value, String why) {
        NavigableMap<Long, Byte> m = new TreeMap<>();
        if (base instanceof PatchedMemory p) {
            m.putAll(p.bytes);
            why = p.why + "; " + why;
            base = p.base;
        }
        for (int i = 0; i < 8; i++) {
            m.put(physAddr + i, (byte) (value >>> (8 * i)));
        }
        return new PatchedMemory(base, m, why);
    }

    @Override
    public void read(long physAddr, byte[] dst, int off, int len) {
        base.read(physAddr, dst, off, len);
        for (Map.Entry<Long, Byte> e : bytes.subMap(physAddr, true, physAddr + len, false).entrySet()) {
            dst[off + (int) (e.getKey() - physAddr)] = e.getValue();
        }
    }

    @Override
    public ByteBuffer view(long physAddr, int len) {
        return bytes.subMap(physAddr, true, physAddr + len, false).isEmpty() ? base.view(physAddr, len) : null;
    }

    @Override public MemoryMap map() { return base.map(); }

    @Override public int idealBatchSize() { return base.idealBatchSize(); }

    @Override public String describe() { return base.describe() + " (" + why + ")"; }

    /** The memory this view patches. */
    public PhysicalMemory base() { return base; }
}
