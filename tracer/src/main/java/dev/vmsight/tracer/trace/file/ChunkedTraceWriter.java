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
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * Writes a trace file as events arrive: the header frame at once, then one chunk frame each time
 * the encoded events pass the chunk target, then on {@link #finish} the last chunk, the summary,
 * the chunk index and the footer. Call grammar: {@code write* finish? close}; {@link #close()}
 * without {@code finish} writes the pending chunk but no footer, so readers report the file as
 * incomplete.
 *
 * <p>The caller's thread only encodes: a full chunk is handed to one compressor thread, which
 * deflates and appends it while the next chunk fills (double buffering: at most one chunk in
 * flight). A failure there surfaces at the next call.
 */
final class ChunkedTraceWriter implements TraceSink {
    private final Path path;
    private final FileChannel channel;
    private final Deflater deflater;
    private final int chunkTarget;
    private final ExecutorService compressor;
    private final ByteSink frame = new ByteSink(64 << 10);
    private final CRC32 crc = new CRC32();
    /** Where the next frame goes; advanced by whichever thread writes (never both at once). */
    private long position;

    private ByteSink raw;
    /** The buffer the compressor finished with, handed back for the next chunk. */
    private ByteSink spare;
    private Future<?> inFlight;
    private RuntimeException broken;

    private EventCodec.ChunkState state;
    private int chunkEvents;
    private long chunkFirstStep;

    // The chunk index, as parallel growable arrays (offsets filled in by the compressor).
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
        this.compressor = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "vmsight trace writer " + path.getFileName());
            t.setDaemon(true);
            return t;
        });
        ByteSink preamble = new ByteSink(16);
        preamble.bytes(Frames.MAGIC, 0, Frames.MAGIC.length);
        preamble.u8(Frames.VERSION >>> 8);
        preamble.u8(Frames.VERSION);
        try {
            writeFully(preamble.array(), preamble.size());
            writeFrame(Frames.TAG_HEADER, h, 0, 0);
        } catch (RuntimeException e) {
            release();
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
        if (raw.size() - before > Frames.MAX_RAW / 2) {
            raw.truncate(before);
            throw new IllegalArgumentException("event at step " + event.step() + " encodes to more than "
                    + (Frames.MAX_RAW / 2) + " bytes");
        }
        chunkEvents++;
        if (raw.size() >= chunkTarget) {
            flushChunk();
        }
    }

    @Override
    public void finish(TraceSummary summary) {
        checkOpen("finish");
        flushChunk();
        awaitCompressor();
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
            if (!finished && broken == null) {
                flushChunk(); // what was written stays readable for diagnosis; no footer marks it incomplete
                awaitCompressor();
            }
        } finally {
            release();
        }
    }

    private void release() {
        closed = true;
        compressor.shutdownNow();
        try {
            compressor.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        deflater.end();
        try {
            channel.close();
        } catch (IOException ignored) {
            // nothing more can be written; an earlier write error is the one to report
        }
    }

    private void checkOpen(String what) {
        if (broken != null) {
            throw new IllegalStateException("trace file " + path + ": " + what + " after a failed write: "
                    + broken.getMessage(), broken);
        }
        if (closed || finished) {
            throw new IllegalStateException("trace file " + path + ": " + what + " after "
                    + (finished ? "finish" : "close"));
        }
    }

    /** Hands the pending chunk to the compressor once the previous one is written. */
    private void flushChunk() {
        if (chunkEvents == 0) {
            return;
        }
        awaitCompressor();
        if (chunks == chunkOffsets.length) {
            chunkOffsets = Arrays.copyOf(chunkOffsets, chunks * 2);
            chunkCounts = Arrays.copyOf(chunkCounts, chunks * 2);
            chunkFirstSteps = Arrays.copyOf(chunkFirstSteps, chunks * 2);
        }
        int k = chunks++;
        chunkCounts[k] = chunkEvents;
        chunkFirstSteps[k] = chunkFirstStep;
        ByteSink full = raw;
        int events = chunkEvents;
        long firstStep = chunkFirstStep;
        raw = spare != null ? spare : new ByteSink(full.array().length);
        spare = null;
        chunkEvents = 0;
        inFlight = compressor.submit(() -> {
            chunkOffsets[k] = position;
            writeFrame(Frames.TAG_CHUNK, full, events, firstStep);
            full.clear();
            spare = full;
        });
    }

    /** Waits for the chunk in flight; its failure becomes this writer's (Future.get orders the memory). */
    private void awaitCompressor() {
        Future<?> f = inFlight;
        if (f == null) {
            return;
        }
        inFlight = null;
        try {
            f.get();
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            broken = cause instanceof RuntimeException r ? r
                    : new UncheckedIOException("trace file " + path + ": compressing a chunk failed: " + cause,
                    new IOException(cause));
            throw broken;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            broken = new IllegalStateException("interrupted while writing trace file " + path);
            throw broken;
        }
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
