package dev.vmsight.vmi.phys;

import java.nio.ByteBuffer;

/**
 * Guest memory read through a request/response peek such as libvirt's memoryPeek. Each request
 * carries at most {@link #MAX_REQUEST} bytes: libvirt caps a peek at 64 KiB on the wire (and
 * libvirt-java 0.5.3 and older corrupted larger reads). A request costs ≈10 ms (QEMU pmemsave to a
 * temporary file), so callers should batch and put a {@link CachingPhysicalMemory} on top.
 */
final class PeekingMemory implements PhysicalMemory {
    static final int MAX_REQUEST = 64 * 1024;

    private final PhysicalPeek peek;
    private final MemoryMap map;
    private final String description;
    private final ByteBuffer buffer = ByteBuffer.allocateDirect(MAX_REQUEST); // JNA passes it without copying

    PeekingMemory(PhysicalPeek peek, MemoryMap map, String description) {
        this.peek = peek;
        this.map = map;
        this.description = description;
    }

    @Override
    public synchronized void read(long physAddr, byte[] dst, int off, int len) {
        // Map pieces use guest-physical addresses as their "backing offset" (see PhysicalMemories).
        map.readPieces(description, physAddr, dst, off, len, this::readChunked);
    }

    private void readChunked(long phys, byte[] dst, int off, int len) {
        while (len > 0) {
            int n = Math.min(len, MAX_REQUEST);
            buffer.clear().limit(n);
            try {
                peek.peek(phys, buffer);
            } catch (Exception e) {
                throw new PhysicalMemoryException(description, phys, n, "peek failed: " + e.getMessage(), e);
            }
            buffer.get(0, dst, off, n);
            phys += n;
            off += n;
            len -= n;
        }
    }

    @Override public MemoryMap map() { return map; }

    @Override public int idealBatchSize() { return MAX_REQUEST; }

    @Override public String describe() { return description; }
}
