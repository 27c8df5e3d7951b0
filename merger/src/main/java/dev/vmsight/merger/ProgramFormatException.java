package dev.vmsight.merger;

import java.nio.file.Path;

/** A program file that is not one, is of another version, truncated or damaged: names the file and byte offset. */
public final class ProgramFormatException extends RuntimeException {
    private final long offset;

    public ProgramFormatException(Path file, long offset, String what) {
        super(file + ": " + what + " at byte offset " + offset);
        this.offset = offset;
    }

    public long offset() { return offset; }
}
