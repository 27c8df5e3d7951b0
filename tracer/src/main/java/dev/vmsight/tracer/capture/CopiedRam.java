package dev.vmsight.tracer.capture;

import dev.vmsight.ir.sys.PhysMem;
import dev.vmsight.vmi.phys.MemoryMap;
import dev.vmsight.vmi.phys.PhysicalMemory;
import dev.vmsight.vmi.phys.PhysicalMemoryException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * A private copy of guest RAM taken at START (the shared RAM file is only consistent while the
 * guest is stopped, and QEMU changes it as soon as it runs on). Read-only: the replay writes
 * through {@link PhysMem#copyOnWrite}; the snapshot writer reads it as a {@link PhysicalMemory}.
 * Held in 16 MiB chunks (a Java array cannot hold a 4 GiB guest).
 */
final class CopiedRam implements PhysMem, PhysicalMemory {
    private static final int CHUNK_SHIFT = 24;
    private static final int CHUNK = 1 << CHUNK_SHIFT;

    private static final VarHandle LE_LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LE_INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LE_SHORT = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);

    private final byte[][] chunks;
    private final long size;
    private final String description;

    private CopiedRam(byte[][] chunks, long size, String description) {
        this.chunks = chunks;
        this.size = size;
        this.description = description;
    }

    /** Copies every byte of {@code source} (identity-mapped from guest-physical 0). */
    static CopiedRam copy(PhysicalMemory source, String description) {
        long size = source.size();
        byte[][] chunks = new byte[(int) ((size + CHUNK - 1) >>> CHUNK_SHIFT)][];
        for (int i = 0; i < chunks.length; i++) {
            int n = (int) Math.min(CHUNK, size - ((long) i << CHUNK_SHIFT));
            chunks[i] = new byte[n];
            source.read((long) i << CHUNK_SHIFT, chunks[i], 0, n);
        }
        return new CopiedRam(chunks, size, description);
    }

    @Override
    public long read(long pa, int n) {
        check(pa, n);
        byte[] c = chunks[(int) (pa >>> CHUNK_SHIFT)];
        int at = (int) (pa & (CHUNK - 1));
        if (at + n <= c.length) {
            switch (n) {
                case 8: return (long) LE_LONG.get(c, at);
                case 4: return Integer.toUnsignedLong((int) LE_INT.get(c, at));
                case 2: return Short.toUnsignedLong((short) LE_SHORT.get(c, at));
                case 1: return c[at] & 0xFF;
                default: break;
            }
        }
        long v = 0;
        for (int i = n - 1; i >= 0; i--) {
            long a = pa + i;
            v = v << 8 | chunks[(int) (a >>> CHUNK_SHIFT)][(int) (a & (CHUNK - 1))] & 0xFF;
        }
        return v;
    }

    @Override
    public void write(long pa, int n, long value) {
        throw new UnsupportedOperationException("the START copy of guest RAM is read-only (write 0x" + Long.toHexString(pa)
                + "): replay through PhysMem.copyOnWrite");
    }

    @Override
    public void read(long physAddr, byte[] dst, int off, int len) {
        if (physAddr < 0 || len < 0 || physAddr + len > size) {
            throw new PhysicalMemoryException(description, Math.max(physAddr, size), len, "outside the copied RAM of 0x"
                    + Long.toHexString(size) + " bytes");
        }
        int done = 0;
        while (done < len) {
            long a = physAddr + done;
            int inChunk = (int) (a & (CHUNK - 1));
            int n = Math.min(len - done, CHUNK - inChunk);
            System.arraycopy(chunks[(int) (a >>> CHUNK_SHIFT)], inChunk, dst, off + done, n);
            done += n;
        }
    }

    @Override public MemoryMap map() { return MemoryMap.identity(size); }

    @Override public int idealBatchSize() { return 1 << 20; }

    @Override public String describe() { return description; }

    @Override public long size() { return size; }

    private void check(long pa, int n) {
        if (pa < 0 || pa + n > size) {
            throw new IllegalArgumentException("physical address 0x" + Long.toHexString(pa) + " (+" + n + ") is outside "
                    + description + " of 0x" + Long.toHexString(size) + " bytes (device memory is not emulated)");
        }
    }
}
