package dev.vmsight.tracer.trace;

/**
 * One data access through paging: linear address, physical address of its first byte, size in
 * bytes (1..8; larger system accesses are split into 8-byte pieces), the value read or written
 * (little-endian, zero-extended) and the {@link TranslationEvent#id()} that mapped {@code va}
 * (-1 when paging was off). An access that crosses a page names the first page's translation and
 * {@code pa2}, the physical address of the first byte on the second page (-1 if it does not cross).
 */
public record MemoryAccess(long va, long pa, long pa2, int size, long value, boolean write, int translation) {
    public MemoryAccess {
        if (size < 1 || size > 8) {
            throw new IllegalArgumentException("memory access of " + size + " bytes at va 0x" + Long.toHexString(va));
        }
    }

    /** The physical address of byte {@code i} of this access. */
    public long byteAddress(int i) {
        long firstPageBytes = 4096 - (va & 0xFFF);
        return pa2 < 0 || i < firstPageBytes ? pa + i : pa2 + (i - firstPageBytes);
    }
}
