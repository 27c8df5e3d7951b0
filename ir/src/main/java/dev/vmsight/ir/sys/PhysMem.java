package dev.vmsight.ir.sys;

/**
 * Guest-physical memory: what the paging MMU reads page tables, descriptor tables and data
 * from. A byte array ({@link #of}), a shared RAM file or a snapshot can back it; the
 * interpreter writes only through a {@link #copyOnWrite} overlay when the base is the live
 * guest's RAM. An address outside [0, size) is an {@link IllegalArgumentException} naming it
 * (device memory is not emulated).
 */
public interface PhysMem {
    /** Reads {@code size} (1, 2, 4, 8) bytes little-endian at {@code pa}, zero-extended. */
    long read(long pa, int size);

    /** Writes the low {@code size} bytes of {@code value} little-endian at {@code pa}. */
    void write(long pa, int size, long value);

    /** Bytes of physical memory: valid addresses are [0, size). */
    long size();

    /** Physical memory backed by {@code bytes} (not copied: writes go to the array). */
    static PhysMem of(byte[] bytes) { return new ByteArrayPhysMem(bytes); }

    /**
     * An overlay that reads through to {@code base} until a page is written, then keeps its own
     * copy of that page: {@code base} is never written.
     */
    static PhysMem copyOnWrite(PhysMem base) { return new CopyOnWritePhysMem(base); }
}
