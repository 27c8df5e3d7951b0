package dev.vmsight.vmi.paging;

import dev.vmsight.vmi.GuestMemoryException;

/**
 * Guest memory as a monitor sees it: linear (virtual) addresses, little-endian values. Every
 * failure is a {@link GuestMemoryException} carrying the address and why. Implementations:
 * {@link AddressSpace} (reads only: a write throws {@link GuestMemoryException.Kind#READ_ONLY}) and
 * {@link CowOverlay} (writes land in the overlay, the guest is never written).
 */
public interface LinearMemory {

    /** Reads {@code size} (1, 2, 4 or 8) bytes at {@code va}, zero-extended. */
    long read(long va, int size);

    /** Copies {@code len} bytes from {@code va} on, across pages as needed. */
    void read(long va, byte[] dst, int off, int len);

    /** Writes the low {@code size} (1, 2, 4 or 8) bytes of {@code value} at {@code va}. */
    void write(long va, int size, long value);

    /** Writes {@code src[off..off+len)} at {@code va}. */
    void write(long va, byte[] src, int off, int len);

    default long readLong(long va) { return read(va, 8); }

    default int readInt(long va) { return (int) read(va, 4); }

    default byte[] readBytes(long va, int len) {
        byte[] out = new byte[len];
        read(va, out, 0, len);
        return out;
    }

    static void checkSize(int size) {
        if (size != 1 && size != 2 && size != 4 && size != 8) {
            throw new IllegalArgumentException("access size must be 1, 2, 4 or 8 bytes, not " + size);
        }
    }
}
