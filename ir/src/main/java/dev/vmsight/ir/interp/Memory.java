package dev.vmsight.ir.interp;

/**
 * Guest virtual memory as the interpreter sees it. The paging MMU of dev.vmsight.ir.sys implements this
 * over physical memory; tests use {@link PagedMemory}. Accesses that cannot be served throw
 * {@link CpuFault} (a #PF with the address).
 */
public interface Memory {
    /** Reads {@code size} (1, 2, 4, 8) bytes little-endian at {@code va}, zero-extended. */
    long read(long va, int size);

    /** Writes the low {@code size} bytes of {@code value} little-endian at {@code va}. */
    void write(long va, int size, long value);

    /** 16-byte read (cmpxchg16b, xmm): {low, high}. */
    default long[] read128(long va) { return new long[]{read(va, 8), read(va + 8, 8)}; }

    default void write128(long va, long low, long high) {
        write(va, 8, low);
        write(va + 8, 8, high);
    }

    /** Fills {@code dst} from {@code va} (instruction fetch). */
    default void readBytes(long va, byte[] dst, int off, int len) {
        for (int i = 0; i < len; i++) {
            dst[off + i] = (byte) read(va + i, 1);
        }
    }
}
