package dev.vmsight.vmi.phys;

/**
 * A file holding guest-physical memory, mmapped read-only: QEMU's shared memory-backend-file (the
 * guest keeps running and we see its writes) or a raw physical image (identity map). Which file
 * offset holds which guest-physical range is the explicit {@link MemoryMap}.
 */
final class RamFileMemory implements PhysicalMemory {
    private final MappedFile file;
    private final MemoryMap map;
    private final String description;

    RamFileMemory(MappedFile file, MemoryMap map, String kind) {
        for (MemoryMap.Segment s : map.segments()) {
            if (s.backingOffset() + s.length() > file.length()) {
                throw new IllegalArgumentException(kind + " " + file.path() + " holds 0x"
                        + Long.toHexString(file.length()) + " bytes, but the memory map puts guest-physical 0x"
                        + Long.toHexString(s.physStart()) + "-0x" + Long.toHexString(s.physEnd())
                        + " at file offset 0x" + Long.toHexString(s.backingOffset()));
            }
        }
        this.file = file;
        this.map = map;
        this.description = kind + " " + file.path();
    }

    @Override
    public void read(long physAddr, byte[] dst, int off, int len) {
        map.readPieces(description, physAddr, dst, off, len, file::read);
    }

    /** A slice of the read-only mapping when the range lies in one segment and one mapped window. */
    @Override
    public java.nio.ByteBuffer view(long physAddr, int len) {
        long at = map.backingOffsetWithin(physAddr, len);
        return at < 0 ? null : file.view(at, len);
    }

    @Override public MemoryMap map() { return map; }

    /** A page costs a memcpy: no batching needed, any size is fine. */
    @Override public int idealBatchSize() { return 1 << 20; }

    @Override public String describe() { return description; }

    @Override public void close() { file.close(); }
}
