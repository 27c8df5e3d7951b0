package dev.vmsight.tracer.trace.file;

import java.util.List;

/**
 * Where a trace file's structures are, byte offsets in the file (what {@code xxd -s} takes): the
 * magic at 0, the version at 8, the header frame, the chunks in order, the summary, the chunk
 * index and the footer, which ends the file.
 */
public record TraceFileLayout(long fileSize, int version, long headerOffset, long headerCompressedBytes,
                              long headerRawBytes, List<Chunk> chunks, long summaryOffset, long indexOffset,
                              long footerOffset) {
    public TraceFileLayout {
        chunks = List.copyOf(chunks);
    }

    /** One chunk frame: where it starts, its length in the file, its events and their sizes. */
    public record Chunk(long offset, long length, int events, long firstStep, int compressedBytes, int rawBytes) { }

    public long events() {
        long n = 0;
        for (Chunk c : chunks) {
            n += c.events();
        }
        return n;
    }

    public long rawEventBytes() {
        long n = 0;
        for (Chunk c : chunks) {
            n += c.rawBytes();
        }
        return n;
    }
}
