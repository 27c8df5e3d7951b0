package dev.vmsight.tracer.lockstep;

import dev.vmsight.ir.sys.PhysMem;
import dev.vmsight.vmi.phys.PhysicalMemory;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The interpreter's guest-physical memory in lockstep: the live RAM file (read-only) under a
 * byte-granular overlay of the interpreter's writes.
 *
 * <p>Why this is consistent: the interpreter executes each instruction while QEMU is stopped
 * before it, so every byte it did not write reads as QEMU's pre-instruction value. Its own
 * writes stay in the overlay until QEMU has stepped the same instruction; {@link #reconcile()}
 * then compares each written byte with the RAM file: equal bytes (QEMU wrote the same) leave
 * the overlay, so it never holds stale copies of memory QEMU changes later; a byte that differs
 * is a memory divergence, reported and then dropped (the RAM file, QEMU's truth, wins).
 * The guest is never written: {@link PhysicalMemory} has no write.
 */
final class LockstepRam implements PhysMem {
    private final PhysicalMemory ram;
    private final long size;
    private final Map<Long, Byte> written = new TreeMap<>();
    private final byte[] buffer = new byte[8];

    LockstepRam(PhysicalMemory ram) {
        this.ram = ram;
        this.size = ram.size();
    }

    @Override
    public long read(long pa, int size) {
        check(pa, size);
        ram.read(pa, buffer, 0, size);
        long v = 0;
        for (int i = size - 1; i >= 0; i--) {
            Byte mine = written.isEmpty() ? null : written.get(pa + i);
            v = v << 8 | (mine != null ? mine : buffer[i]) & 0xFF;
        }
        return v;
    }

    @Override
    public void write(long pa, int size, long value) {
        check(pa, size);
        for (int i = 0; i < size; i++) {
            written.put(pa + i, (byte) (value >>> (8 * i)));
        }
    }

    @Override
    public long size() { return size; }

    /** A written byte that QEMU's RAM does not show after its step. */
    record Mismatch(long pa, int interpreter, int qemu) {
        @Override
        public String toString() {
            return String.format("phys 0x%x: interpreter wrote 0x%02x, QEMU has 0x%02x", pa, interpreter, qemu);
        }
    }

    /** Compares the overlay with the RAM file after QEMU's step, empties it and returns the differences. */
    List<Mismatch> reconcile() {
        List<Mismatch> out = new ArrayList<>();
        for (Map.Entry<Long, Byte> e : written.entrySet()) {
            ram.read(e.getKey(), buffer, 0, 1);
            if (buffer[0] != e.getValue()) {
                out.add(new Mismatch(e.getKey(), e.getValue() & 0xFF, buffer[0] & 0xFF));
            }
        }
        written.clear();
        return out;
    }

    /** Bytes written by the interpreter that QEMU has not yet confirmed. */
    int pending() { return written.size(); }

    private void check(long pa, int n) {
        if (pa < 0 || pa + n > size) {
            throw new IllegalArgumentException("physical address 0x" + Long.toHexString(pa) + " (+" + n
                    + ") is outside guest RAM of 0x" + Long.toHexString(size) + " bytes (" + ram.describe()
                    + "; device memory is not emulated)");
        }
    }
}
