package dev.vmsight.vmi.phys;

import java.nio.ByteBuffer;

/**
 * One backend request for guest-physical bytes: fill {@code dst} (position to limit) from
 * {@code physAddr}. libvirt's virDomainMemoryPeek(VIR_MEMORY_PHYSICAL) is one; anything with the
 * same per-request cost profile can be wrapped by {@link PhysicalMemories#peeking}.
 */
@FunctionalInterface
public interface PhysicalPeek {
    void peek(long physAddr, ByteBuffer dst) throws Exception;
}
