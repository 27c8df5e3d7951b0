package dev.vmsight.tracer.trace;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;

/** A trace held in a list: a {@link TraceSink} to replay into and a {@link TraceReader} over it (tests, small runs). */
public final class InMemoryTrace implements TraceSink, TraceReader {
    private final TraceHeader header;
    private final List<TraceEvent> events = new ArrayList<>();
    private TraceSummary summary;

    public InMemoryTrace(TraceHeader header) { this.header = header; }

    @Override public void write(TraceEvent event) { events.add(event); }

    @Override public void finish(TraceSummary summary) { this.summary = summary; }

    @Override public TraceHeader header() { return header; }

    @Override
    public TraceSummary summary() {
        if (summary == null) {
            throw new IllegalStateException("the in-memory trace of " + header.program() + " was never finished");
        }
        return summary;
    }

    public List<TraceEvent> events() { return Collections.unmodifiableList(events); }

    @Override public Iterator<TraceEvent> forward() { return events().iterator(); }

    @Override
    public Iterator<TraceEvent> backward() {
        return new Iterator<>() {
            int i = events.size();

            @Override public boolean hasNext() { return i > 0; }

            @Override public TraceEvent next() {
                if (i == 0) {
                    throw new java.util.NoSuchElementException();
                }
                return events.get(--i);
            }
        };
    }

    @Override public void close() { }
}
