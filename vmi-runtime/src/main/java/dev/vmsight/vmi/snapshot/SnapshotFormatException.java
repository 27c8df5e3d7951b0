package dev.vmsight.vmi.snapshot;

import java.nio.file.Path;

/**
 * A snapshot file is not what its format says: wrong magic or version, truncated, a CRC that does
 * not match, a group that does not inflate. Names the file and the byte offset of the bad part.
 */
public final class SnapshotFormatException extends RuntimeException {
    private final Path file;
    private final long offset;

    public SnapshotFormatException(Path file, long offset, String detail) {
        this(file, offset, detail, null);
    }

    public SnapshotFormatException(Path file, long offset, String detail, Throwable cause) {
        super("snapshot " + file + " at byte offset " + offset + " (0x" + Long.toHexString(offset) + "): " + detail, cause);
        this.file = file;
        this.offset = offset;
    }

    public Path file() { return file; }

    /** Byte offset in the file of the part that is wrong. */
    public long offset() { return offset; }
}
