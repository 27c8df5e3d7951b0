package dev.vmsight.tracer.trace.file;

import dev.vmsight.tracer.trace.TraceEvent;
import dev.vmsight.tracer.trace.TraceHeader;
import dev.vmsight.tracer.trace.TraceSink;
import dev.vmsight.tracer.trace.TraceSummary;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * Writes a trace file as events arrive: the header frame at once, then one chunk frame each time
 * the encoded events pass the chunk target, then on {@link #finish} the last chunk, the summary,
 * the chunk index and the footer. Call grammar: {@code write* finish? close}; {@link #close()}
 * without {@code finish} writes the pending chunk but no footer, so readers report the file as
 * incomplete.
 */
final class ChunkedTraceWriter implements TraceSink {
    private final Path path;
    private final FileChannel channel;
    private final Deflater deflater;
    private final int chunkTarget;
    private final ByteSink raw;
    private final ByteSink frame = new ByteSink(64 << 10);
    private final CRC32 crc = new CRC32();
    private long position;

    private EventCodec.ChunkState state;
    private int chunkEvents;
    private long chunkFirstStep;

    // The chunk index, as parallel growable arrays.
    private long[] chunkOffsets = new long[64];
    private int[] chunkCounts = new int[64];
    private long[] chunkFirstSteps = new long[64];
    private int chunks;

    private boolean finished;
    private boolean closed;

    ChunkedTraceWriter(Path path, TraceHeader header, int level, int chunkTarget) {
        if (chunkTarget < 1 || chunkTarget > Frames.MAX_RAW / 2) {
            throw new IllegalArgumentException("chunk target of " + chunkTarget + " bytes");
        }
        this.path = path;
        this.chunkTarget = chunkTarget;
        this.raw = new ByteSink(chunkTarget + (chunkTarget >> 2));
        ByteSink h = new ByteSink(4096);
        EventCodec.encodeHeader(header, h); // before the file exists: a bad header leaves no file
        try {
            this.channel = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create trace file " + path + ": " + e.getMessage(), e);
        }
        this.deflater = new Deflater(level);
        ByteSink preamble = new ByteSink(16);
        preamble.bytes(Frames.MAGIC, 0, Frames.MAGIC.length);
        preamble.u8(Frames.VERSION >>> 8);
        preamble.u8(Frames.VERSION);
        try {
            writeFully(preamble.array(), preamble.size());
            writeFrame(Frames.TAG_HEADER, h, 0, 0);
        } catch (RuntimeException e) {
            closeQuietly();
            throw e;
        }
    }

    @Override
    public void write(TraceEvent event) {
        checkOpen("write");
        if (chunkEvents == 0) {
            chunkFirstStep = event.step();
            state = new EventCodec.ChunkState(chunkFirstStep);
        }
        int before = raw.size();
        long stepBefore = state.step;
        long ripBefore = state.rip;
        try {
            EventCodec.encode(event, state, raw);
        } catch (RuntimeException e) {
            raw.truncate(before); // the chunk stays as it was: the event is not half in it
            state.step = stepBefore;
            state.rip = ripBefore;
            throw e;
        }
        chunkEvents++;
        if (raw.size() > Frames.MAX_RAW / 2) {
            throw new IllegalArgumentException("event at step " + event.step() + " encodes to more than "
                    + (Frames.MAX_RAW / 2) + " bytes");
        }
        if (raw.size() >= chunkTarget) {
            flushChunk();
        }
    }

    @Override
    public void finish(TraceSummary summary) {
        checkOpen("finish");
        flushChunk();
        long summaryOffset = position;
        ByteSink s = new ByteSink(256);
        EventCodec.encodeSummary(summary, s);
        writeFrame(Frames.TAG_SUMMARY, s, 0, 0);

        long indexOffset = position;
        ByteSink index = new ByteSink(16 + chunks * 8);
        index.varLong(summaryOffset);
        index.varInt(chunks);
        long prevOffset = Frames.HEADER_OFFSET;
        long prevStep = 0;
        for (int i = 0; i < chunks; i++) {
            index.varLong(chunkOffsets[i] - prevOffset);
            index.varInt(chunkCounts[i]);
            index.zigzag(chunkFirstSteps[i] - prevStep);
            prevOffset = chunkOffsets[i];
            prevStep = chunkFirstSteps[i];
        }
        writeFrame(Frames.TAG_INDEX, index, 0, 0);

        ByteSink footer = new ByteSink(Frames.FOOTER);
        footer.u64(indexOffset);
        footer.u32(chunks);
        crc.reset();
        crc.update(footer.array(), 0, 12);
        footer.u32((int) crc.getValue());
        footer.bytes(Frames.END_MAGIC, 0, Frames.END_MAGIC.length);
        writeFully(footer.array(), footer.size());
        finished = true;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        try {
            if (!finished) {
                flushChunk(); // what was written stays readable for diagnosis; no footer marks it incomplete
            }
        } finally {
            closeQuietly();
        }
    }

    private void closeQuietly() {
        closed = true;
        deflater.end();
        try {
            channel.close();
        } catch (IOException ignored) {
            // already failing; the first error is the one to report
        }
    }

    private void checkOpen(String what) {
        if (closed || finished) {
            throw new IllegalStateException("trace file " + path + ": " + what + " after "
                    + (finished ? "finish" : "close"));
        }
    }

    private void flushChunk() {
        if (chunkEvents == 0) {
            return;
        }
        if (chunks == chunkOffsets.length) {
            chunkOffsets = Arrays.copyOf(chunkOffsets, chunks * 2);
            chunkCounts = Arrays.copyOf(chunkCounts, chunks * 2);
            chunkFirstSteps = Arrays.copyOf(chunkFirstSteps, chunks * 2);
        }
        chunkOffsets[chunks] = position;
        chunkCounts[chunks] = chunkEvents;
        chunkFirstSteps[chunks] = chunkFirstStep;
        chunks++;
        writeFrame(Frames.TAG_CHUNK, raw, chunkEvents, chunkFirstStep);
        raw.clear();
        chunkEvents = 0;
    }

    /** Deflates {@code payload} into one frame and appends it to the file. */
    private void writeFrame(int tag, ByteSink payload, int events, long firstStep) {
        frame.clear();
        frame.u8(tag);
        int lengths = frame.size();
        frame.u32(0); // compressed length, patched below
        frame.u32(payload.size());
        if (tag == Frames.TAG_CHUNK) {
            frame.u32(events);
            frame.u64(firstStep);
        }
        int start = frame.size();
        deflater.reset();
        deflater.setInput(payload.array(), 0, payload.size());
        deflater.finish();
        while (!deflater.finished()) {
            byte[] b = frame.reserve(Math.max(4096, payload.size() / 4));
            int n = deflater.deflate(b, frame.size(), b.length - frame.size());
            frame.advance(n);
        }
        frame.u32At(lengths, frame.size() - start);
        crc.reset();
        crc.update(frame.array(), 0, frame.size());
        frame.u32((int) crc.getValue());
        writeFully(frame.array(), frame.size());
    }

    private void writeFully(byte[] b, int n) {
        ByteBuffer buf = ByteBuffer.wrap(b, 0, n);
        try {
            while (buf.hasRemaining()) {
                position += channel.write(buf);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write trace file " + path + " at byte offset " + position + ": "
                    + e.getMessage(), e);
        }
    }
}
