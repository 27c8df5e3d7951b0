package dev.vmsight.tracer.trace;

import java.util.Iterator;

/**
 * A trace, streamed: the header, the summary written after the last event, and the events in
 * execution order ({@link #forward()}) or reverse order ({@link #backward()}, what the slicer
 * walks). Each call starts a new pass. A corrupt or truncated file throws
 * {@link TraceFormatException} naming the file and byte offset, at the latest when a pass reaches
 * the damage.
 */
public interface TraceReader extends AutoCloseable {
    TraceHeader header();

    TraceSummary summary();

    Iterator<TraceEvent> forward();

    Iterator<TraceEvent> backward();

    @Override
    void close();
}
