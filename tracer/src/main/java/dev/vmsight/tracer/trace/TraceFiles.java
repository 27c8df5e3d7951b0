package dev.vmsight.tracer.trace;

import dev.vmsight.tracer.trace.file.TraceFileFormat;
import java.nio.file.Path;

/**
 * Trace files: {@link #create} a {@link TraceSink} that writes one as a replay runs, {@link #open}
 * a {@link TraceReader} over one. The format (chunked, deflated, CRC-checked, indexed from the end)
 * is described in tracer/TRACE-FORMAT.md; a damaged or truncated file gives a
 * {@link TraceFormatException} with the byte offset of the damaged structure.
 */
public final class TraceFiles {
    private TraceFiles() { }

    /** Creates (or replaces) {@code file} and writes the header; events follow through the sink. */
    public static TraceSink create(Path file, TraceHeader header) {
        return TraceFileFormat.create(file, header);
    }

    /** Opens {@code file}, checking its structure; the events are read by each pass. */
    public static TraceReader open(Path file) {
        return TraceFileFormat.open(file);
    }
}
