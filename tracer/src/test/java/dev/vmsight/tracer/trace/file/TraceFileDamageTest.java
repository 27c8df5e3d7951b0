package dev.vmsight.tracer.trace.file;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.vmsight.tracer.trace.SyntheticTrace;
import dev.vmsight.tracer.trace.TraceEvent;
import dev.vmsight.tracer.trace.TraceFiles;
import dev.vmsight.tracer.trace.TraceFormatException;
import dev.vmsight.tracer.trace.TraceReader;
import dev.vmsight.tracer.trace.TraceSink;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Damaged files: every flipped byte and every truncation must end in a TraceFormatException whose
 * offset lies inside the structure that holds the damage and at or before the damaged byte.
 */
class TraceFileDamageTest {
    @TempDir
    static Path dir;

    private static Path good;
    private static byte[] bytes;
    private static TraceFileLayout layout;
    /** Start offsets of the file's structures, in order: magic, version, header, chunks, summary, index, footer. */
    private static final TreeSet<Long> starts = new TreeSet<>();

    @BeforeAll
    static void writeGoodFile() throws IOException {
        SyntheticTrace t = new SyntheticTrace(11, 300);
        good = dir.resolve("good.trace");
        try (TraceSink sink = TraceFileFormat.create(good, SyntheticTrace.header("getpid"), 1, 2 << 10)) {
            t.events.forEach(sink::write);
            sink.finish(t.summary);
        }
        bytes = Files.readAllBytes(good);
        layout = TraceFileFormat.layout(good);
        starts.add(0L);
        starts.add(Frames.VERSION_OFFSET);
        starts.add(layout.headerOffset());
        layout.chunks().forEach(c -> starts.add(c.offset()));
        starts.add(layout.summaryOffset());
        starts.add(layout.indexOffset());
        starts.add(layout.footerOffset());
        assertTrue(layout.chunks().size() >= 5, "the damage tests want several chunks: " + layout.chunks().size());
    }

    /** Opens and reads the file both ways; returns the exception, failing the test if there was none. */
    private static TraceFormatException damageOf(Path f, String what) {
        try (TraceReader r = TraceFiles.open(f)) {
            drain(r.forward());
            drain(r.backward());
        } catch (TraceFormatException e) {
            return e;
        } catch (RuntimeException e) {
            throw new AssertionError(what + ": expected TraceFormatException, got " + e, e);
        }
        return fail(what + ": the damaged file read without error");
    }

    private static void drain(Iterator<TraceEvent> it) {
        while (it.hasNext()) {
            it.next();
        }
    }

    private static Path withBytes(String name, byte[] b) throws IOException {
        Path f = dir.resolve(name);
        Files.write(f, b);
        return f;
    }

    @Test
    void everyStructureRejectsAFlippedByteAtItsOwnOffset() throws IOException {
        TreeSet<Long> positions = new TreeSet<>();
        // Every byte of the fixed structures and of every frame head and CRC; frame payloads sampled.
        for (long p = 0; p < layout.headerOffset() + Frames.HEAD + 2; p++) {
            positions.add(p);
        }
        // All chunks go through the same code: the first two, a middle one and the last stand for them.
        List<TraceFileLayout.Chunk> cs = layout.chunks();
        TreeSet<Long> sampled = new TreeSet<>(List.of(0L, Frames.VERSION_OFFSET, layout.headerOffset(),
                cs.get(0).offset(), cs.get(1).offset(), cs.get(cs.size() / 2).offset(), cs.get(cs.size() - 1).offset(),
                layout.summaryOffset(), layout.indexOffset(), layout.footerOffset()));
        for (long s : sampled) {
            for (long p = s; p < s + Frames.CHUNK_HEAD && p < bytes.length; p++) {
                positions.add(p);
            }
            Long next = starts.higher(s);
            long end = next == null ? bytes.length : next;
            for (long p = Math.max(s, end - Frames.CRC - 2); p < end; p++) {
                positions.add(p);
            }
            positions.add((s + end) / 2);
        }
        Random r = new Random(3);
        for (int i = 0; i < 150; i++) {
            positions.add((long) r.nextInt(bytes.length));
        }
        for (long p = layout.footerOffset(); p < bytes.length; p++) {
            positions.add(p);
        }
        int checked = 0;
        for (long p : positions) {
            for (int mask : new int[] {0x01, 0x80, 0xFF}) {
                byte[] b = bytes.clone();
                b[(int) p] ^= (byte) mask;
                TraceFormatException e = damageOf(withBytes("flip", b), "byte " + p + " ^ 0x" + Integer.toHexString(mask));
                long structure = starts.floor(p);
                assertTrue(e.offset() >= structure && e.offset() <= p, "byte " + p + " ^ 0x"
                        + Integer.toHexString(mask) + " lies in the structure at " + structure + ", but the error says "
                        + e.offset() + ": " + e.getMessage());
                assertTrue(e.getMessage().startsWith(dir.resolve("flip").toString() + ": "), e.getMessage());
                checked++;
            }
        }
        assertTrue(checked > 1000, "flips checked: " + checked);
    }

    @Test
    void everyTruncationNamesTheStructureItCut() throws IOException {
        TreeSet<Integer> lengths = new TreeSet<>();
        for (int n = 0; n < 64; n++) {
            lengths.add(n);
        }
        for (long s : starts) {
            for (int d = -3; d <= 3; d++) {
                lengths.add((int) Math.max(0, Math.min(bytes.length - 1, s + d)));
            }
        }
        Random r = new Random(5);
        for (int i = 0; i < 100; i++) {
            lengths.add(r.nextInt(bytes.length));
        }
        lengths.add(bytes.length - 1);
        for (int n : lengths) {
            byte[] b = java.util.Arrays.copyOf(bytes, n);
            TraceFormatException e = damageOf(withBytes("cut", b), "cut at " + n);
            long structure = starts.floor((long) n); // the first missing byte is byte n
            assertEquals(structure, e.offset(), "cut at " + n + ": " + e.getMessage());
            if (n >= layout.headerOffset()) {
                assertTrue(e.getMessage().contains("truncated or incomplete"), e.getMessage());
            }
        }
    }

    @Test
    void aWriterClosedWithoutFinishLeavesAFileReadersCallIncomplete() throws IOException {
        SyntheticTrace t = new SyntheticTrace(2, 300);
        Path f = dir.resolve("unfinished.trace");
        try (TraceSink sink = TraceFileFormat.create(f, SyntheticTrace.header("pslist"), 1, 2 << 10)) {
            t.events.forEach(sink::write);
        }
        TraceFormatException e = damageOf(f, "unfinished");
        assertEquals(Files.size(f), e.offset(), "every chunk is intact; the footer is what is missing: " + e.getMessage());
        assertTrue(e.getMessage().contains("truncated or incomplete") && e.getMessage().contains("finish()")
                && e.getMessage().contains(t.events.size() + " events"), e.getMessage());
    }

    @Test
    void notATraceAnotherVersionAndMissingFiles() throws IOException {
        TraceFormatException elf = damageOf(withBytes("elf", new byte[] {0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0}),
                "elf");
        assertEquals(0, elf.offset());
        assertTrue(elf.getMessage().contains("not a vmsight trace file"), elf.getMessage());
        assertEquals(0, damageOf(withBytes("empty", new byte[0]), "empty").offset());

        byte[] v2 = bytes.clone();
        v2[9] = 2;
        TraceFormatException version = damageOf(withBytes("v2", v2), "version 2");
        assertEquals(Frames.VERSION_OFFSET, version.offset());
        assertTrue(version.getMessage().contains("version 2"), version.getMessage());

        Path missing = dir.resolve("no-such.trace");
        UncheckedIOException gone = assertThrows(UncheckedIOException.class, () -> TraceFiles.open(missing));
        assertTrue(gone.getMessage().contains(missing.toString()), gone.getMessage());
    }

    // ------------------------------------------------------------- forged chunks with valid CRCs

    /**
     * A file built frame by frame from the documented layout, so that a chunk's payload can be
     * anything while its CRC, lengths and index stay right.
     */
    private static Path forge(String name, byte[] chunkPayload, int events) throws IOException {
        return forge(name, chunkPayload, events, 0);
    }

    /** {@code rawLengthLie} is added to the chunk's announced uncompressed length. */
    private static Path forge(String name, byte[] chunkPayload, int events, int rawLengthLie) throws IOException {
        ByteSink out = new ByteSink(1 << 16);
        out.bytes(Frames.MAGIC, 0, 8);
        out.u8(0);
        out.u8(1);
        ByteSink h = new ByteSink(1024);
        EventCodec.encodeHeader(SyntheticTrace.header("forged"), h);
        frame(out, Frames.TAG_HEADER, h.toByteArray(), -1, 0);
        long chunkOffset = out.size();
        frame(out, Frames.TAG_CHUNK, chunkPayload, events, 100, rawLengthLie);
        long summaryOffset = out.size();
        ByteSink s = new ByteSink(64);
        EventCodec.encodeSummary(new SyntheticTrace(1, 1).summary, s);
        frame(out, Frames.TAG_SUMMARY, s.toByteArray(), -1, 0);
        long indexOffset = out.size();
        ByteSink idx = new ByteSink(64);
        idx.varLong(summaryOffset);
        idx.varInt(1);
        idx.varLong(chunkOffset - Frames.HEADER_OFFSET);
        idx.varInt(events);
        idx.zigzag(100);
        frame(out, Frames.TAG_INDEX, idx.toByteArray(), -1, 0);
        int footer = out.size();
        out.u64(indexOffset);
        out.u32(1);
        CRC32 crc = new CRC32();
        crc.update(out.array(), footer, 12);
        out.u32((int) crc.getValue());
        out.bytes(Frames.END_MAGIC, 0, 8);
        return withBytes(name, out.toByteArray());
    }

    private static void frame(ByteSink out, int tag, byte[] payload, int events, long firstStep) {
        frame(out, tag, payload, events, firstStep, 0);
    }

    private static void frame(ByteSink out, int tag, byte[] payload, int events, long firstStep, int rawLengthLie) {
        Deflater d = new Deflater(1);
        d.setInput(payload);
        d.finish();
        byte[] z = new byte[payload.length * 2 + 64];
        int n = d.deflate(z);
        d.end();
        int start = out.size();
        out.u8(tag);
        out.u32(n);
        out.u32(payload.length + rawLengthLie);
        if (tag == Frames.TAG_CHUNK) {
            out.u32(events);
            out.u64(firstStep);
        }
        out.bytes(z, 0, n);
        CRC32 crc = new CRC32();
        crc.update(out.array(), start, out.size() - start);
        out.u32((int) crc.getValue());
    }

    private static byte[] events(TraceEvent... events) {
        ByteSink s = new ByteSink(256);
        EventCodec.ChunkState st = new EventCodec.ChunkState(100);
        for (TraceEvent e : events) {
            EventCodec.encode(e, st, s);
        }
        return s.toByteArray();
    }

    private static final TraceEvent ENV = new dev.vmsight.tracer.trace.EnvInputEvent(100, "RDTSC", new long[0],
            new long[] {42}, "forged");

    @Test
    void theForgerWritesValidFiles() throws IOException {
        Path f = forge("forged-ok", events(ENV, ENV), 2);
        try (TraceReader r = TraceFiles.open(f)) {
            List<TraceEvent> all = new ArrayList<>();
            r.forward().forEachRemaining(all::add);
            assertEquals(2, all.size());
        }
    }

    @Test
    void malformedChunkContentsAreReportedAtTheChunk() throws IOException {
        long chunk = TraceFileFormat.layout(forge("probe", events(ENV), 1)).chunks().get(0).offset();
        record Case(String name, byte[] payload, int events, String message) { }
        byte[] two = events(ENV, ENV);
        for (Case c : List.of(
                new Case("unknown tag", new byte[] {0x07, 0}, 1, "unknown event tag 0x7"),
                new Case("tag with stray bits", new byte[] {(byte) 0x84, 0}, 1, "unknown event tag 0x84"),
                new Case("varint off the end", new byte[] {0x01, (byte) 0x80}, 1, "runs off the end"),
                new Case("11-byte varint", new byte[] {0x04, (byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80,
                        (byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, 0}, 1,
                        "longer than 10 bytes"),
                new Case("fewer events than announced", two, 3, "event 2 of 3"),
                new Case("more events than announced", two, 1, "more than the 1 events"),
                new Case("huge count", new byte[] {0x04, 0x00, 0x01, (byte) 0xff, (byte) 0xff, 0x7f}, 1,
                        "does not fit"),
                new Case("16-byte instruction", new byte[] {0x01, 0x00, 0x00, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                        0, 0, 0, 0, 0}, 1, "16 bytes"),
                new Case("access of 9 bytes", accessOfSize(9), 1, "memory access size"))) {
            TraceFormatException e = damageOf(forge(c.name().replace(' ', '-'), c.payload(), c.events()), c.name());
            assertEquals(chunk, e.offset(), c.name() + ": " + e.getMessage());
            assertTrue(e.getMessage().contains(c.message()), c.name() + ": " + e.getMessage());
            assertTrue(e.getMessage().contains("chunk 0 (events from step 100)"), e.getMessage());
        }
    }

    @Test
    void aChunkThatInflatesToAnotherLengthThanItsHeadSays() throws IOException {
        byte[] two = events(ENV, ENV);
        long chunk = TraceFileFormat.layout(forge("probe2", two, 2)).chunks().get(0).offset();
        for (int lie : new int[] {-1, 1, 1000}) {
            TraceFormatException e = damageOf(forge("lie" + lie, two, 2, lie), "raw length " + lie);
            assertEquals(chunk, e.offset(), e.getMessage());
            assertTrue(e.getMessage().contains("inflates to " + (lie < 0 ? "more than " : "") + (lie < 0
                    ? two.length - 1 : two.length) + " bytes"), e.getMessage());
        }
    }

    /** A delivery whose one memory access claims {@code size} bytes. */
    private static byte[] accessOfSize(int size) {
        ByteSink s = new ByteSink(64);
        s.u8(EventCodec.DELIVERY);
        s.zigzag(0); // step delta
        s.zigzag(14);
        s.zigzag(0);
        s.zigzag(0);
        s.zigzag(0);
        s.string("pf");
        s.varInt(1); // one access
        s.zigzag(0);
        s.zigzag(0);
        s.zigzag(-1);
        s.u8(size);
        s.zigzag(0);
        s.zigzag(-1);
        s.ints(new int[0]);
        s.ints(new int[0]);
        return s.toByteArray();
    }
}
