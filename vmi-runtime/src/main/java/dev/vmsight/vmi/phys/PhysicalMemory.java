package dev.vmsight.vmi.phys;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Guest-physical memory, read-only. One required primitive, a batched {@link #read}; the rest is
 * built on it once. Implementations: a shared RAM file or raw image (mmap), a memory-only ELF core,
 * libvirt's memoryPeek; decorators such as {@link CachingPhysicalMemory} implement the same type.
 *
 * <p>A read either fills the whole destination range or throws {@link PhysicalMemoryException}
 * naming the source and the first guest-physical address that could not be read. Sources never
 * write to the guest.
 */
public interface PhysicalMemory extends AutoCloseable {

    /**
     * Copies {@code len} bytes starting at guest-physical {@code physAddr} into
     * {@code dst[off..off+len)}. One call should cover as much as the caller needs: sources such as
     * libvirt pay a large fixed cost per request.
     */
    void read(long physAddr, byte[] dst, int off, int len);

    /** Which guest-physical ranges exist and where each lives in the backing store. */
    MemoryMap map();

    /** How many bytes one backing request should ideally carry (larger reads are split). */
    int idealBatchSize();

    /** Short description naming the backing store, used in error messages ("RAM file /dev/shm/x"). */
    String describe();

    /** Bytes of guest RAM this source holds (sum of the map's segments). */
    default long size() {
        return map().size();
    }

    /**
     * A read-only view of {@code [physAddr, physAddr+len)} without copying (a slice of a mapped RAM
     * file: it sees the live guest), or {@code null} when this source cannot give one; then
     * {@link #read} it. Compiled monitors use it to serve whole pages without a 4 KiB copy per run.
     */
    default ByteBuffer view(long physAddr, int len) {
        return null;
    }

    default byte[] readFully(long physAddr, int len) {
        byte[] out = new byte[len];
        read(physAddr, out, 0, len);
        return out;
    }

    /** Little-endian 64-bit value, as x86 stores it. */
    default long readLong(long physAddr) {
        return ByteBuffer.wrap(readFully(physAddr, Long.BYTES)).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }

    /** Little-endian 32-bit value. */
    default int readInt(long physAddr) {
        return ByteBuffer.wrap(readFully(physAddr, Integer.BYTES)).order(ByteOrder.LITTLE_ENDIAN).getInt();
    }

    /** Releases the backing store (unmaps, closes files). Default: nothing to release. */
    @Override
    default void close() {
    }
}
