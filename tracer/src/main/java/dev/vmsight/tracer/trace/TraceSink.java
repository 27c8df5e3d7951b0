package dev.vmsight.tracer.trace;

/**
 * Where a replay writes its events as they happen ({@code TraceFiles.create} writes a trace file;
 * {@link InMemoryTrace} keeps them in a list). {@link #finish} is called once, after the last
 * event; {@link #close()} without it leaves an incomplete trace that readers reject.
 */
public interface TraceSink extends AutoCloseable {
    void write(TraceEvent event);

    void finish(TraceSummary summary);

    @Override
    void close();
}
