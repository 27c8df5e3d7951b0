package dev.vmsight.tracer.trace.file;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmsight.ir.sys.CpuFeatures;
import dev.vmsight.tracer.trace.DeliveryEvent;
import dev.vmsight.tracer.trace.EnvInputEvent;
import dev.vmsight.tracer.trace.EventText;
import dev.vmsight.tracer.trace.InstructionEvent;
import dev.vmsight.tracer.trace.MemoryAccess;
import dev.vmsight.tracer.trace.SyntheticTrace;
import dev.vmsight.tracer.trace.TraceEvent;
import dev.vmsight.tracer.trace.TraceFiles;
import dev.vmsight.tracer.trace.TraceHeader;
import dev.vmsight.tracer.trace.TraceReader;
import dev.vmsight.tracer.trace.TraceSink;
import dev.vmsight.tracer.trace.TraceSummary;
import dev.vmsight.tracer.trace.TranslationEvent;
import dev.vmsight.tracer.trace.UopExecution;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TraceFileRoundTripTest {
    private static final long MIN = Long.MIN_VALUE;
    private static final long MAX = Long.MAX_VALUE;

    @TempDir
    Path dir;

    /** Every event kind, with the values that break naive encodings. */
    static List<TraceEvent> extremeEvents() {
        List<TraceEvent> e = new ArrayList<>();
        MemoryAccess[] accesses = {
                new MemoryAccess(MIN, MAX, -1, 1, -1, false, -1),
                new MemoryAccess(0xffffffffff600ffdL, 0x1ffd, 0x7000, 8, MIN, true, Integer.MAX_VALUE),
                new MemoryAccess(0, 0, 0, 4, MAX, true, Integer.MIN_VALUE)};
        e.add(new InstructionEvent(1, 0xffffffff81000000L, 0, new byte[] {(byte) 0x0f, 0x05},
                List.of(new UopExecution(0, new long[] {MIN, MAX, 0, -1}, new long[] {1}, accesses, new int[] {
                        Integer.MIN_VALUE, 0, Integer.MAX_VALUE}, new long[] {MAX, MIN, -2}, false))));
        // The fetch faulted: no bytes, no µops.
        e.add(new InstructionEvent(2, MAX, 3, null, List.of()));
        // Empty bytes, µop indices that skip, go back and reach the int range's ends.
        e.add(new InstructionEvent(MAX, MIN, 1, new byte[0], List.of(
                new UopExecution(Integer.MAX_VALUE, new long[0], new long[0], UopExecution.NO_ACCESSES,
                        UopExecution.NO_LOCS, UopExecution.NO_VALUES, false),
                new UopExecution(Integer.MIN_VALUE, new long[0], new long[0], UopExecution.NO_ACCESSES,
                        UopExecution.NO_LOCS, UopExecution.NO_VALUES, false),
                new UopExecution(7, new long[] {-1}, new long[0], new MemoryAccess[] {accesses[1]},
                        UopExecution.NO_LOCS, UopExecution.NO_VALUES, true))));
        byte[] fifteen = new byte[15];
        java.util.Arrays.fill(fifteen, (byte) 0xff);
        e.add(new InstructionEvent(MIN, 0, 2, fifteen, List.of()));
        e.add(new DeliveryEvent(0, 255, -1, MAX, MIN, "général protection \u2014 ünïcode", accesses,
                new int[] {Integer.MIN_VALUE, -1}, new int[] {0, Integer.MAX_VALUE}, new long[] {MIN, MAX}));
        e.add(new DeliveryEvent(-5, Integer.MIN_VALUE, MIN, 0, 0, null, new MemoryAccess[0], new int[0], new int[0],
                new long[0]));
        e.add(new DeliveryEvent(6, 0, 0, 0, 0, "", new MemoryAccess[0], new int[0], new int[0], new long[0]));
        e.add(new TranslationEvent(7, Integer.MAX_VALUE, MIN, MAX, 1L << 30, -1, new long[] {1, MIN, MAX, 0, -1},
                new long[] {MAX, MIN, -1, 0, 0x8000000000000067L}));
        e.add(new TranslationEvent(7, Integer.MIN_VALUE, 0, 0, 0, 0, new long[0], new long[0]));
        e.add(new EnvInputEvent(8, "CPUID", new long[] {MIN, MAX}, new long[] {-1, 0, 1, MAX}, "qemu lockstep step 212"));
        e.add(new EnvInputEvent(9, null, new long[0], new long[0], null));
        e.add(new EnvInputEvent(MIN, "", new long[0], new long[] {0}, ""));
        return e;
    }

    static TraceSummary summary() {
        return new TraceSummary(MAX, MIN, -1, 0, 1, 2, 3, 4, true, new byte[] {0, -1, 127, -128}, false,
                Double.longBitsToDouble(0x7ff8000000000123L));
    }

    private Path write(String name, TraceHeader header, List<TraceEvent> events, TraceSummary summary, int level,
                       int chunkBytes) {
        Path f = dir.resolve(name);
        try (TraceSink sink = TraceFileFormat.create(f, header, level, chunkBytes)) {
            events.forEach(sink::write);
            sink.finish(summary);
        }
        return f;
    }

    private static List<TraceEvent> drain(Iterator<TraceEvent> it) {
        List<TraceEvent> out = new ArrayList<>();
        it.forEachRemaining(out::add);
        return out;
    }

    @Test
    void everyEventKindWithExtremeValuesRoundTrips() {
        List<TraceEvent> events = extremeEvents();
        for (int chunkBytes : new int[] {1, 64, 1 << 20}) { // one event per chunk, a few, all in one
            Path f = write("extreme-" + chunkBytes, SyntheticTrace.header("extreme"), events, summary(), 1, chunkBytes);
            try (TraceReader r = TraceFiles.open(f)) {
                assertEquals(EventText.of(events), EventText.of(drain(r.forward())), "forward, chunk " + chunkBytes);
                List<TraceEvent> back = drain(r.backward());
                Collections.reverse(back);
                assertEquals(EventText.of(events), EventText.of(back), "backward, chunk " + chunkBytes);
                assertEquals(EventText.of(summary()), EventText.of(r.summary()));
            }
        }
        assertEquals(events.size(), TraceFileFormat.layout(dir.resolve("extreme-1")).chunks().size(),
                "a 1-byte chunk target puts every event in its own chunk");
    }

    @Test
    void headerRoundTripsWithEveryFieldAndWithNulls() {
        TraceHeader full = SyntheticTrace.header("pslist");
        TraceHeader sparse = new TraceHeader(null, List.of(), null, null, null, null,
                new TraceHeader.BufferSpec(null, MIN, Integer.MIN_VALUE, new long[] {MAX}, null), null, Map.of(), MIN);
        TraceHeader odd = new TraceHeader("prog \u00e9", List.of("", "a b", "\u2603"),
                new TraceHeader.GuestIdentity("", null, "x", -1, MAX), CpuFeatures.ALL,
                new TraceHeader.Marks(MIN, MAX, -1, 0), TraceHeader.BufferSpec.none("in"),
                TraceHeader.BufferSpec.none("out"),
                new TraceHeader.StartState(new long[0], MIN, Integer.MAX_VALUE, MAX, Integer.MIN_VALUE, -1, 0),
                Map.of("", "", "k=v", "\n"), MAX);
        for (TraceHeader h : List.of(full, sparse, odd)) {
            Path f = write("header", h, List.of(), summary(), 6, 4096);
            try (TraceReader r = TraceFiles.open(f)) {
                assertEquals(EventText.of(h), EventText.of(r.header()));
                assertFalse(r.forward().hasNext(), "a trace without events has none");
                assertFalse(r.backward().hasNext());
            }
        }
    }

    @Test
    void multiChunkTraceReadsTheSameForwardAndBackward() {
        SyntheticTrace t = new SyntheticTrace(7, 20_000);
        Path f = write("multi", SyntheticTrace.header("pslist"), t.events, t.summary, 1, 8 << 10);
        TraceFileLayout layout = TraceFileFormat.layout(f);
        assertTrue(layout.chunks().size() > 50, "8 KiB chunks: " + layout.chunks().size());
        assertEquals(t.events.size(), layout.events());
        List<String> expected = EventText.of(t.events);
        try (TraceReader r = TraceFiles.open(f)) {
            List<TraceEvent> fwd = drain(r.forward());
            assertEquals(expected, EventText.of(fwd));
            List<TraceEvent> back = drain(r.backward());
            Collections.reverse(back);
            assertEquals(expected, EventText.of(back));
            // Two passes at once do not disturb each other.
            Iterator<TraceEvent> a = r.forward();
            Iterator<TraceEvent> b = r.backward();
            int n = t.events.size();
            for (int i = 0; i < n; i++) {
                assertEquals(expected.get(i), EventText.of(a.next()));
                assertEquals(expected.get(n - 1 - i), EventText.of(b.next()));
            }
            assertFalse(a.hasNext());
            assertFalse(b.hasNext());
            assertThrows(java.util.NoSuchElementException.class, a::next);
        }
        // Chunks are contiguous and start where the index says: first right after the header.
        long at = layout.headerOffset() + Frames.HEAD + layout.headerCompressedBytes() + Frames.CRC;
        for (TraceFileLayout.Chunk c : layout.chunks()) {
            assertEquals(at, c.offset());
            at += c.length();
        }
        assertEquals(at, layout.summaryOffset());
        assertEquals(layout.fileSize() - Frames.FOOTER, layout.footerOffset());
    }

    @Test
    void writerRefusesUseAfterFinishAndBadEventsWithoutCorruptingTheChunk() throws Exception {
        Path f = dir.resolve("states");
        List<TraceEvent> events = extremeEvents();
        try (TraceSink sink = TraceFiles.create(f, SyntheticTrace.header("s"))) {
            sink.write(events.get(0));
            IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> sink.write(
                    new InstructionEvent(5, 0, 4, new byte[1], List.of())));
            assertTrue(bad.getMessage().contains("CPL 4"), bad.getMessage());
            assertThrows(IllegalArgumentException.class, () -> sink.write(
                    new EnvInputEvent(6, "RDTSC", null, new long[0], null)));
            sink.write(events.get(1));
            sink.finish(summary());
            IllegalStateException after = assertThrows(IllegalStateException.class, () -> sink.write(events.get(2)));
            assertTrue(after.getMessage().contains(f.toString()), after.getMessage());
        }
        try (TraceReader r = TraceFiles.open(f)) {
            assertEquals(EventText.of(events.subList(0, 2)), EventText.of(drain(r.forward())));
        }
        assertTrue(Files.size(f) > 0);
    }

    @Test
    void aFileThatCannotBeCreatedIsNamed() {
        Path f = dir.resolve("no-such-dir").resolve("t.trace");
        java.io.UncheckedIOException e = assertThrows(java.io.UncheckedIOException.class,
                () -> TraceFiles.create(f, SyntheticTrace.header("x")));
        assertTrue(e.getMessage().startsWith("cannot create trace file " + f), e.getMessage());
    }
}
