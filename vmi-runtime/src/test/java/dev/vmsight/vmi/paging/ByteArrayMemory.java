package dev.vmsight.vmi.paging;

import dev.vmsight.vmi.phys.MemoryMap;
import dev.vmsight.vmi.phys.PhysicalMemory;
import dev.vmsight.vmi.phys.PhysicalMemoryException;

/** Guest-physical memory in a byte array the test may change (a live guest changing its page tables). */
final class ByteArrayMemory implements PhysicalMemory {
    final byte[] bytes;

    ByteArrayMemory(byte[] bytes) { this.bytes = bytes; }

    @Override
    public void read(long physAddr, byte[] dst, int off, int len) {
        if (physAddr < 0 || physAddr + len > bytes.length) {
            throw new PhysicalMemoryException(describe(), Math.max(physAddr, bytes.length), len, "outside the array");
        }
        System.arraycopy(bytes, (int) physAddr, dst, off, len);
    }

    @Override public MemoryMap map() { return MemoryMap.identity(bytes.length); }

    @Override public int idealBatchSize() { return 4096; }

    @Override public String describe() { return "test array"; }
}
