package dev.vmsight.tracer.trace.file;

import dev.vmsight.tracer.trace.TraceEvent;
import dev.vmsight.tracer.trace.TraceFormatException;
import dev.vmsight.tracer.trace.TraceHeader;
import dev.vmsight.tracer.trace.TraceReader;
import dev.vmsight.tracer.trace.TraceSummary;
import dev.vmsight.tracer.trace.file.ByteSource.Malformed;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * Reads a trace file. Opening checks everything but the chunks' contents: magic, version,
 * footer, index, header, summary and every chunk's frame head against the index, so that a file
 * that opens has all its structures where the index says. Chunk payloads (CRC, inflation, event
 * decoding, event count) are checked when a pass reaches them. Every failure is a
 * {@link TraceFormatException} at the offset of the structure that is damaged.
 */
final class ChunkedTraceReader implements TraceReader {
    private final Path path;
    private final String file;
    private final FileChannel channel;
    private final long size;
    private final TraceHeader header;
    private final TraceSummary summary;
    private final TraceFileLayout layout;
    private final List<TraceFileLayout.Chunk> chunks;
    /** Decodes the next chunk of a pass ahead of its consumer; started by the first pass. */
    private ExecutorService decoder;

    /** A frame read whole: its tag, where it ends, its chunk fields and its inflated payload. */
    private record Frame(int tag, long offset, long end, int events, long firstStep, int compressed, byte[] payload) { }

    static ChunkedTraceReader open(Path path) {
        FileChannel ch;
        try {
            ch = FileChannel.open(path, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new UncheckedIOException("trace file " + path + " does not exist", e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open trace file " + path + ": " + e.getMessage(), e);
        }
        try {
            return new ChunkedTraceReader(path, ch);
        } catch (RuntimeException e) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // the format error is what the user needs
            }
            throw e;
        }
    }

    private ChunkedTraceReader(Path path, FileChannel channel) {
        this.path = path;
        this.file = path.toString();
        this.channel = channel;
        try {
            this.size = channel.size();
        } catch (IOException e) {
            throw io(e, 0);
        }
        checkPreamble();
        if (size < Frames.HEADER_OFFSET + Frames.FOOTER
                || !Arrays.equals(read(size - Frames.END_MAGIC.length, Frames.END_MAGIC.length), Frames.END_MAGIC)) {
            throw incomplete();
        }
        long footerOffset = size - Frames.FOOTER;
        byte[] footer = read(footerOffset, Frames.FOOTER);
        CRC32 crc = new CRC32();
        crc.update(footer, 0, 12);
        if ((int) crc.getValue() != Frames.u32(footer, 12)) {
            throw fail(footerOffset, "the footer is damaged (CRC32 0x" + hex32(Frames.u32(footer, 12)) + " stored, 0x"
                    + hex32((int) crc.getValue()) + " computed)");
        }
        long indexOffset = Frames.u64(footer, 0);
        int chunkCount = Frames.u32(footer, 8);
        if (indexOffset <= Frames.HEADER_OFFSET || indexOffset >= footerOffset || chunkCount < 0
                || chunkCount > (indexOffset - Frames.HEADER_OFFSET) / (Frames.CHUNK_HEAD + Frames.CRC)) {
            throw fail(footerOffset, "the footer points at a chunk index of " + Integer.toUnsignedString(chunkCount)
                    + " chunks at byte " + indexOffset + ", which does not fit in the file's body (bytes "
                    + Frames.HEADER_OFFSET + ".." + footerOffset + ")");
        }

        // The index: summary offset, then each chunk's offset (delta), event count, first step (delta).
        Frame indexFrame = readFrame(indexOffset, Frames.TAG_INDEX, footerOffset);
        long summaryOffset;
        long[] offsets = new long[chunkCount];
        int[] counts = new int[chunkCount];
        long[] firstSteps = new long[chunkCount];
        try {
            ByteSource in = new ByteSource(indexFrame.payload(), indexFrame.payload().length);
            summaryOffset = in.varLong();
            int n = in.varInt();
            if (n != chunkCount) {
                throw new Malformed("it lists " + n + " chunks but the footer says " + chunkCount);
            }
            long offset = Frames.HEADER_OFFSET;
            long step = 0;
            for (int i = 0; i < n; i++) {
                offset += in.varLong();
                offsets[i] = offset;
                counts[i] = in.varInt();
                step += in.zigzag();
                firstSteps[i] = step;
            }
            if (!in.atEnd()) {
                throw new Malformed("bytes are left after its last entry");
            }
            if (summaryOffset <= Frames.HEADER_OFFSET || summaryOffset >= indexOffset) {
                throw new Malformed("it puts the summary at byte " + summaryOffset + ", outside bytes "
                        + Frames.HEADER_OFFSET + ".." + indexOffset);
            }
        } catch (Malformed e) {
            throw fail(indexOffset, "the chunk index is malformed: " + e.getMessage());
        }

        Frame headerFrame = readFrame(Frames.HEADER_OFFSET, Frames.TAG_HEADER,
                chunkCount > 0 ? offsets[0] : summaryOffset);
        try {
            ByteSource in = new ByteSource(headerFrame.payload(), headerFrame.payload().length);
            this.header = EventCodec.decodeHeader(in);
            if (!in.atEnd()) {
                throw new Malformed("bytes are left after its last field");
            }
        } catch (Malformed | RuntimeException e) {
            throw fail(Frames.HEADER_OFFSET, "the header is malformed: " + e.getMessage());
        }

        List<TraceFileLayout.Chunk> list = new ArrayList<>(chunkCount);
        for (int i = 0; i < chunkCount; i++) {
            long end = i + 1 < chunkCount ? offsets[i + 1] : summaryOffset;
            byte[] head = readHead(offsets[i], Frames.TAG_CHUNK, end, "chunk " + i);
            int compressed = Frames.u32(head, 1);
            int events = Frames.u32(head, Frames.HEAD);
            long firstStep = Frames.u64(head, Frames.HEAD + 4);
            if (events != counts[i] || firstStep != firstSteps[i]) {
                throw fail(offsets[i], "chunk " + i + " holds " + events + " events from step " + firstStep
                        + " but the index says " + counts[i] + " from step " + firstSteps[i]);
            }
            list.add(new TraceFileLayout.Chunk(offsets[i], end - offsets[i], events, firstStep, compressed,
                    Frames.u32(head, 5)));
        }
        this.chunks = List.copyOf(list);

        Frame summaryFrame = readFrame(summaryOffset, Frames.TAG_SUMMARY, indexOffset);
        try {
            ByteSource in = new ByteSource(summaryFrame.payload(), summaryFrame.payload().length);
            this.summary = EventCodec.decodeSummary(in);
            if (!in.atEnd()) {
                throw new Malformed("bytes are left after its last field");
            }
        } catch (Malformed e) {
            throw fail(summaryOffset, "the summary is malformed: " + e.getMessage());
        }
        this.layout = new TraceFileLayout(size, Frames.VERSION, Frames.HEADER_OFFSET, headerFrame.compressed(),
                headerFrame.payload().length, chunks, summaryOffset, indexOffset, footerOffset);
    }

    TraceFileLayout layout() { return layout; }

    @Override public TraceHeader header() { return header; }

    @Override public TraceSummary summary() { return summary; }

    @Override
    public Iterator<TraceEvent> forward() {
        return new Pass(false);
    }

    @Override
    public Iterator<TraceEvent> backward() {
        return new Pass(true);
    }

    @Override
    public void close() {
        synchronized (this) {
            if (decoder != null) {
                decoder.shutdownNow();
            }
        }
        try {
            channel.close();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot close trace file " + path + ": " + e.getMessage(), e);
        }
    }

    /**
     * One pass over the chunks, forward or backward. While the caller consumes one decoded chunk,
     * the next one in pass order is decoded on the reader's decoder thread: at most two decoded
     * chunks are held.
     */
    private final class Pass implements Iterator<TraceEvent> {
        private final boolean backward;
        private int nextChunk;
        private Future<TraceEvent[]> ahead;
        private TraceEvent[] events = new TraceEvent[0];
        private int pos;

        Pass(boolean backward) {
            this.backward = backward;
            this.nextChunk = backward ? chunks.size() - 1 : 0;
        }

        private boolean more() {
            return backward ? nextChunk >= 0 : nextChunk < chunks.size();
        }

        private TraceEvent[] decodeInOrder(int i) {
            TraceEvent[] e = decodeChunk(i);
            if (backward) {
                reverse(e);
            }
            return e;
        }

        @Override
        public boolean hasNext() {
            while (pos == events.length) {
                if (!more()) {
                    return false;
                }
                int i = nextChunk;
                events = ahead != null ? await(ahead) : decodeInOrder(i);
                ahead = null;
                pos = 0;
                nextChunk += backward ? -1 : 1;
                if (more()) {
                    int next = nextChunk;
                    ahead = decoder().submit(() -> decodeInOrder(next));
                }
            }
            return true;
        }

        @Override
        public TraceEvent next() {
            if (!hasNext()) {
                throw new NoSuchElementException("the trace " + file + " has no more events");
            }
            TraceEvent e = events[pos];
            events[pos++] = null; // memory stays bounded by the chunks still to come
            return e;
        }
    }

    private synchronized ExecutorService decoder() {
        if (decoder == null) {
            decoder = Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "vmsight trace reader " + path.getFileName());
                t.setDaemon(true);
                return t;
            });
        }
        return decoder;
    }

    private TraceEvent[] await(Future<TraceEvent[]> f) {
        try {
            return f.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r; // a TraceFormatException at the damaged chunk, as a synchronous read gives
            }
            throw new IllegalStateException("decoding a chunk of " + file + " failed: " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while reading " + file);
        }
    }

    private static void reverse(TraceEvent[] a) {
        for (int i = 0, j = a.length - 1; i < j; i++, j--) {
            TraceEvent t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }

    private TraceEvent[] decodeChunk(int i) {
        TraceFileLayout.Chunk c = chunks.get(i);
        Frame f = readFrame(c.offset(), Frames.TAG_CHUNK, c.offset() + c.length(),
                "chunk " + i + " (events from step " + c.firstStep() + ")");
        TraceEvent[] events = new TraceEvent[c.events()];
        ByteSource in = new ByteSource(f.payload(), f.payload().length);
        EventCodec.ChunkState state = new EventCodec.ChunkState(c.firstStep());
        int k = 0;
        try {
            for (; k < events.length; k++) {
                events[k] = EventCodec.decode(in, state);
            }
            if (!in.atEnd()) {
                throw new Malformed("it holds more than the " + events.length + " events its head announces ("
                        + (f.payload().length - in.position()) + " bytes left)");
            }
        } catch (Malformed | RuntimeException e) {
            String where = k < events.length ? "event " + k + " of " + events.length + ": " : "";
            throw fail(c.offset(), "chunk " + i + " (events from step " + c.firstStep() + ") is malformed: " + where
                    + e.getMessage());
        }
        return events;
    }

    // ---------------------------------------------------------------- frames

    private byte[] readHead(long offset, int tag, long expectedEnd) {
        return readHead(offset, tag, expectedEnd, Frames.name(tag));
    }

    /** {@code name} says which structure it is in messages ("chunk 3 (events from step 301)"). */
    private byte[] readHead(long offset, int tag, long expectedEnd, String name) {
        int headSize = Frames.headSize(tag);
        if (offset < Frames.HEADER_OFFSET || offset + headSize + Frames.CRC > size) {
            throw fail(offset, "the " + name + " at byte " + offset + " is cut off: the file ends at byte "
                    + size);
        }
        byte[] head = read(offset, headSize);
        if ((head[0] & 0xFF) != tag) {
            throw fail(offset, "expected the " + name + " (tag '" + (char) tag + "') but found tag 0x"
                    + hex32(head[0] & 0xFF));
        }
        long compressed = Frames.u32(head, 1) & 0xFFFF_FFFFL;
        long raw = Frames.u32(head, 5) & 0xFFFF_FFFFL;
        if (raw > Frames.MAX_RAW) {
            throw fail(offset, "the " + name + " claims " + raw + " bytes uncompressed, more than "
                    + Frames.MAX_RAW);
        }
        if (compressed > Frames.MAX_COMPRESSED) {
            throw fail(offset, "the " + name + " claims " + compressed + " compressed bytes, more than "
                    + Frames.MAX_COMPRESSED);
        }
        long end = offset + headSize + compressed + Frames.CRC;
        if (end > size) {
            throw fail(offset, "the " + name + " claims " + compressed
                    + " compressed bytes, past the end of the file at byte " + size);
        }
        if (expectedEnd >= 0 && end != expectedEnd) {
            throw fail(offset, "the " + name + " ends at byte " + end + " but the next structure starts at "
                    + expectedEnd);
        }
        return head;
    }

    /** Reads, CRC-checks and inflates the frame at {@code offset}; {@code expectedEnd} -1 if unknown. */
    private Frame readFrame(long offset, int tag, long expectedEnd) {
        return readFrame(offset, tag, expectedEnd, Frames.name(tag));
    }

    private Frame readFrame(long offset, int tag, long expectedEnd, String name) {
        byte[] head = readHead(offset, tag, expectedEnd, name);
        int headSize = head.length;
        int compressed = Frames.u32(head, 1);
        int rawLength = Frames.u32(head, 5);
        byte[] whole = read(offset, headSize + compressed + Frames.CRC);
        CRC32 crc = new CRC32();
        crc.update(whole, 0, headSize + compressed);
        int stored = Frames.u32(whole, headSize + compressed);
        if ((int) crc.getValue() != stored) {
            throw fail(offset, "the " + name + " is damaged (CRC32 0x" + hex32(stored) + " stored, 0x"
                    + hex32((int) crc.getValue()) + " computed)");
        }
        // One byte more than announced, so that a stream inflating to more is seen, not cut.
        byte[] out = new byte[rawLength + 1];
        Inflater inflater = new Inflater();
        byte[] payload;
        try {
            inflater.setInput(whole, headSize, compressed);
            int n = 0;
            while (!inflater.finished() && n < out.length) {
                int k = inflater.inflate(out, n, out.length - n);
                n += k;
                if (k == 0 && (inflater.needsInput() || inflater.needsDictionary())) {
                    break;
                }
            }
            if (n != rawLength || !inflater.finished() || inflater.getRemaining() != 0) {
                throw fail(offset, "the " + name + " inflates to " + (n > rawLength ? "more than " + rawLength : n)
                        + " bytes" + (inflater.finished() ? "" : " and an unfinished stream") + ", not the " + rawLength
                        + " its head announces");
            }
            payload = Arrays.copyOf(out, rawLength);
        } catch (DataFormatException e) {
            throw fail(offset, "the " + name + " does not inflate: " + e.getMessage());
        } finally {
            inflater.end();
        }
        int events = tag == Frames.TAG_CHUNK ? Frames.u32(head, Frames.HEAD) : 0;
        long firstStep = tag == Frames.TAG_CHUNK ? Frames.u64(head, Frames.HEAD + 4) : 0;
        return new Frame(tag, offset, offset + whole.length, events, firstStep, compressed, payload);
    }

    // ---------------------------------------------------------------- damage reports

    private void checkPreamble() {
        byte[] start = read(0, (int) Math.min(size, Frames.HEADER_OFFSET));
        int magicBytes = Math.min(start.length, Frames.MAGIC.length);
        if (!Arrays.equals(start, 0, magicBytes, Frames.MAGIC, 0, magicBytes)) {
            throw fail(0, "not a vmsight trace file (it starts with " + printable(start, magicBytes) + ", not "
                    + printable(Frames.MAGIC, Frames.MAGIC.length) + ")");
        }
        if (start.length < Frames.MAGIC.length) {
            throw fail(0, "the file is truncated inside its magic (" + size + " bytes)");
        }
        if (start.length < Frames.HEADER_OFFSET) {
            throw fail(Frames.VERSION_OFFSET, "the file is truncated inside its format version (" + size + " bytes)");
        }
        int version = (start[8] & 0xFF) << 8 | start[9] & 0xFF;
        if (version != Frames.VERSION) {
            throw fail(Frames.VERSION_OFFSET, "trace format version " + version + ", but this vmsight reads version "
                    + Frames.VERSION);
        }
    }

    /**
     * No footer: walk the frames from the header on to say how much is intact, and report the
     * first byte that is not part of a whole, CRC-valid frame.
     */
    private TraceFormatException incomplete() {
        long offset = Frames.HEADER_OFFSET;
        int tag = Frames.TAG_HEADER;
        int chunkCount = 0;
        long events = 0;
        long firstStep = 0;
        String cut = null;
        while (true) {
            try {
                Frame f = readFrame(offset, tag, -1);
                if (tag == Frames.TAG_CHUNK) {
                    if (chunkCount == 0) {
                        firstStep = f.firstStep();
                    }
                    chunkCount++;
                    events += f.events();
                }
                offset = f.end();
                if (tag == Frames.TAG_INDEX) {
                    break;
                }
                int next = offset + Frames.HEAD <= size ? read(offset, 1)[0] & 0xFF : -1;
                tag = switch (tag) {
                    case Frames.TAG_HEADER, Frames.TAG_CHUNK -> next == Frames.TAG_SUMMARY ? Frames.TAG_SUMMARY
                            : Frames.TAG_CHUNK;
                    default -> Frames.TAG_INDEX;
                };
            } catch (TraceFormatException e) {
                cut = e.getMessage().substring(file.length() + 2).replaceFirst(" at byte offset \\d+$", "");
                break;
            }
        }
        String intact = offset == Frames.HEADER_OFFSET ? "nothing after the format version is intact"
                : "it is intact up to byte " + offset + " (header, " + chunkCount + " chunks with " + events + " events"
                + (chunkCount > 0 ? " from step " + firstStep : "") + ")";
        return fail(offset, "the trace is truncated or incomplete: no footer at its end (the file was cut, or the "
                + "writer was closed without finish()); " + intact + (cut == null ? "" : "; then " + cut));
    }

    private TraceFormatException fail(long offset, String what) {
        return new TraceFormatException(file, offset, what);
    }

    private TraceFormatException io(IOException e, long offset) {
        return new TraceFormatException(file, offset, "cannot read: " + e.getMessage(), e);
    }

    private byte[] read(long offset, int length) {
        ByteBuffer buf = ByteBuffer.allocate(length);
        try {
            while (buf.hasRemaining()) {
                int n = channel.read(buf, offset + buf.position());
                if (n < 0) {
                    throw fail(offset, "the file ends at byte " + (offset + buf.position()) + " inside a structure of "
                            + length + " bytes");
                }
            }
        } catch (IOException e) {
            throw io(e, offset);
        }
        return buf.array();
    }

    private static String printable(byte[] b, int n) {
        StringBuilder s = new StringBuilder("\"");
        for (int i = 0; i < n; i++) {
            int c = b[i] & 0xFF;
            s.append(c >= 0x20 && c < 0x7F ? String.valueOf((char) c) : String.format("\\x%02x", c));
        }
        return s.append('"').toString();
    }

    private static String hex32(int v) {
        return Integer.toHexString(v);
    }
}
