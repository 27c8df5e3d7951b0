package dev.vmsight.jit;

import java.nio.ByteBuffer;

/**
 * Where the bytes of a linear page come from for one monitor run: the embedded user-half memory,
 * or guest RAM through paging. Read-only: the monitor's writes go to {@link MonitorMemory}'s
 * overlay.
 */
@FunctionalInterface
public interface PageSource {
    /**
     * The 4 KiB page holding linear address {@code pageAddress} (4 KiB aligned), as a buffer whose
     * absolute indices 0..4095 are the page's bytes (little-endian order is set by the caller).
     *
     * @throws RuntimeException (a structured memory exception of the source) when the page cannot be read
     */
    ByteBuffer page(long pageAddress);
}
