package dev.vmsight.vmi.snapshot;

import java.nio.file.Path;
import java.time.Duration;

/**
 * What {@link SnapshotWriter#write} produced.
 *
 * @param file        the snapshot written
 * @param fileBytes   its size
 * @param ramBytes    guest RAM it covers (sum of the memory map)
 * @param storedPages 4 KiB pages stored (the rest were all zero)
 * @param groups      compressed groups written
 * @param elapsed     time to read the source, compress and write
 */
public record SnapshotSummary(Path file, long fileBytes, long ramBytes, long storedPages, int groups, Duration elapsed) {

    @Override
    public String toString() {
        return String.format("%s: %d bytes for %d MiB of RAM (%d non-zero pages in %d groups), written in %d ms",
                file, fileBytes, ramBytes >> 20, storedPages, groups, elapsed.toMillis());
    }
}
