package dev.vmsight.tracer.trace;

/** A trace file that is not one, is of another format version, or is truncated or corrupt at {@link #offset()}. */
public final class TraceFormatException extends RuntimeException {
    private final long offset;

    public TraceFormatException(String file, long offset, String what) {
        super(file + ": " + what + " at byte offset " + offset);
        this.offset = offset;
    }

    public TraceFormatException(String file, long offset, String what, Throwable cause) {
        super(file + ": " + what + " at byte offset " + offset, cause);
        this.offset = offset;
    }

    public long offset() { return offset; }
}
