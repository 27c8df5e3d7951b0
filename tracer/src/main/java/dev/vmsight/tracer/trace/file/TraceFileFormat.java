package dev.vmsight.tracer.trace.file;

import dev.vmsight.tracer.trace.TraceFormatException;
import dev.vmsight.tracer.trace.TraceHeader;
import dev.vmsight.tracer.trace.TraceReader;
import dev.vmsight.tracer.trace.TraceSink;
import java.nio.file.Path;

/**
 * The trace file format, version 1 (tracer/TRACE-FORMAT.md): a chunked, deflated, CRC-checked
 * stream of events with a footer and chunk index at the end, so that a reader can stream it
 * forward or walk it backward chunk by chunk. Use {@code dev.vmsight.tracer.trace.TraceFiles}.
 */
public final class TraceFileFormat {
    /** Deflate level of the writer: 1 is several times faster than 6 for a few percent of size. */
    public static final int DEFAULT_LEVEL = 1;

    private TraceFileFormat() { }

    /** Starts a trace file (the header is written at once); see {@link TraceSink} for the call grammar. */
    public static TraceSink create(Path file, TraceHeader header) {
        return new ChunkedTraceWriter(file, header, DEFAULT_LEVEL, Frames.CHUNK_TARGET);
    }

    /** A writer with another deflate level (1..9) and uncompressed chunk size in bytes. */
    public static TraceSink create(Path file, TraceHeader header, int level, int chunkBytes) {
        if (level < 1 || level > 9) {
            throw new IllegalArgumentException("deflate level " + level + " (1..9)");
        }
        return new ChunkedTraceWriter(file, header, level, chunkBytes);
    }

    /**
     * Opens a trace file: checks magic, version, footer, index, header, summary and every chunk's
     * frame head; chunk contents are checked when a pass reads them.
     *
     * @throws TraceFormatException naming the file and the byte offset of the damaged structure
     */
    public static TraceReader open(Path file) {
        return ChunkedTraceReader.open(file);
    }

    /** Where the structures of a (valid) trace file are, for trace-info and for people with xxd. */
    public static TraceFileLayout layout(Path file) {
        try (ChunkedTraceReader r = ChunkedTraceReader.open(file)) {
            return r.layout();
        }
    }
}
