package dev.vmsight.vmi.snapshot;

import static dev.vmsight.vmi.snapshot.SnapshotFormat.*;

import dev.vmsight.vmi.phys.MemoryMap;
import dev.vmsight.vmi.phys.PhysicalMemory;
import dev.vmsight.vmi.vcpu.VcpuState;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * Writes a snapshot (layout in {@link SnapshotFormat}) by streaming guest RAM from any
 * {@link PhysicalMemory}: a shared RAM file of a paused guest, an ELF core, another snapshot.
 * The file is written next to its destination and renamed into place when complete, so a crash
 * never leaves a half-written file that looks valid.
 */
public final class SnapshotWriter {
    private static final byte[] ZERO_PAGE = new byte[PAGE];

    private SnapshotWriter() {
    }

    /** Writes {@code ram} (every segment of its map), {@code registers} and {@code metadata} to {@code out}. */
    public static SnapshotSummary write(Path out, Map<String, String> metadata, VcpuState registers, PhysicalMemory ram) {
        return write(out, metadata, registers, ram, Deflater.BEST_SPEED);
    }

    /** As {@link #write(Path, Map, VcpuState, PhysicalMemory)} with a deflate level (1 fastest .. 9 smallest). */
    public static SnapshotSummary write(Path out, Map<String, String> metadata, VcpuState registers, PhysicalMemory ram,
                                        int deflateLevel) {
        if (deflateLevel < 1 || deflateLevel > 9) throw new IllegalArgumentException("deflate level must be 1..9, not " + deflateLevel);
        MemoryMap map = ram.map();
        for (MemoryMap.Segment s : map.segments()) {
            if ((s.physStart() | s.length()) % PAGE != 0) {
                throw new IllegalArgumentException(ram.describe() + ": memory-map segment 0x" + Long.toHexString(s.physStart())
                        + "+0x" + Long.toHexString(s.length()) + " is not 4 KiB-aligned; a snapshot stores whole pages");
            }
        }
        long started = System.nanoTime();
        Path tmp = out.resolveSibling(out.getFileName() + ".partial");
        try {
            long fileBytes;
            Counts counts;
            try (OutputStream os = Files.newOutputStream(tmp)) {
                Sink sink = new Sink(os);
                sink.put(MAGIC);
                sink.putInt(VERSION);
                byte[] body = header(metadata, registers, map);
                sink.putInt(body.length);
                sink.put(body);
                sink.putInt(crc(body, 0, body.length));
                counts = new GroupWriter(sink, deflateLevel).writeAll(ram);
                long indexOffset = sink.position;
                byte[] index = counts.index.toByteArray();
                sink.put(index);
                ByteBuffer trailer = ByteBuffer.allocate(TRAILER).order(ByteOrder.LITTLE_ENDIAN);
                trailer.putLong(indexOffset).putInt(counts.groups).putInt(crc(index, 0, index.length))
                        .putLong(counts.storedPages).put(END_MAGIC);
                sink.put(trailer.array());
                sink.flush();
                fileBytes = sink.position;
            }
            Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return new SnapshotSummary(out, fileBytes, map.size(), counts.storedPages, counts.groups,
                    Duration.ofNanos(System.nanoTime() - started));
        } catch (IOException | UncheckedIOException e) {
            throw new UncheckedIOException("cannot write snapshot " + out + ": " + e.getMessage(),
                    e instanceof IOException io ? io : ((UncheckedIOException) e).getCause());
        } finally {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // best effort: the rename succeeded or the error above is the one to report
            }
        }
    }

    private static byte[] header(Map<String, String> metadata, VcpuState registers, MemoryMap map) {
        Sink b = new Sink(new ByteArrayOutputStream());
        b.putInt(DEFAULT_PAGES_PER_GROUP);
        Map<String, String> sorted = new TreeMap<>(metadata);
        b.putInt(sorted.size());
        sorted.forEach((k, v) -> {
            b.putString(k);
            b.putString(v);
        });
        b.putInt(registers.registers().size());
        registers.registers().forEach((k, v) -> {
            b.putString(k);
            b.putLong(v);
        });
        b.putInt(map.segments().size());
        for (MemoryMap.Segment s : map.segments()) {
            b.putLong(s.physStart());
            b.putLong(s.length());
        }
        b.flushUnchecked();
        return ((ByteArrayOutputStream) b.out).toByteArray();
    }

    static int crc(byte[] b, int off, int len) {
        CRC32 c = new CRC32();
        c.update(b, off, len);
        return (int) c.getValue();
    }

    private record Counts(ByteArrayOutputStream index, int groups, long storedPages) {
    }

    /** Accumulates the present pages of one group at a time, deflates and writes it with its index entry. */
    private static final class GroupWriter {
        private final Sink sink;
        private final Deflater deflater;
        private final byte[] group = new byte[DEFAULT_PAGES_PER_GROUP * PAGE];
        private final byte[] deflated = new byte[group.length + 1024];
        private final ByteArrayOutputStream indexBytes = new ByteArrayOutputStream();
        private final Sink index = new Sink(indexBytes);
        private long current = -1;
        private long mask;
        private int present;
        private int groups;
        private long storedPages;

        GroupWriter(Sink sink, int level) {
            this.sink = sink;
            this.deflater = new Deflater(level);
        }

        Counts writeAll(PhysicalMemory ram) throws IOException {
            byte[] chunk = new byte[DEFAULT_PAGES_PER_GROUP * PAGE];
            try {
                for (MemoryMap.Segment s : ram.map().segments()) {
                    long at = s.physStart();
                    while (at < s.physEnd()) {
                        long groupEnd = ((at >>> PAGE_SHIFT) / DEFAULT_PAGES_PER_GROUP + 1) * DEFAULT_PAGES_PER_GROUP << PAGE_SHIFT;
                        int n = (int) (Math.min(groupEnd, s.physEnd()) - at);
                        ram.read(at, chunk, 0, n);
                        for (int p = 0; p < n; p += PAGE) {
                            page((at + p) >>> PAGE_SHIFT, chunk, p);
                        }
                        at += n;
                    }
                }
                flushGroup();
            } finally {
                deflater.end();
            }
            index.flushUnchecked();
            return new Counts(indexBytes, groups, storedPages);
        }

        private void page(long pageNumber, byte[] chunk, int off) throws IOException {
            long g = pageNumber / DEFAULT_PAGES_PER_GROUP;
            if (g != current) {
                flushGroup();
                current = g;
            }
            if (Arrays.mismatch(chunk, off, off + PAGE, ZERO_PAGE, 0, PAGE) == -1) {
                return; // sparse: all-zero pages are not stored
            }
            System.arraycopy(chunk, off, group, present * PAGE, PAGE);
            present++;
            mask |= 1L << (pageNumber % DEFAULT_PAGES_PER_GROUP);
        }

        private void flushGroup() throws IOException {
            if (present > 0) {
                int len = present * PAGE;
                deflater.reset();
                deflater.setInput(group, 0, len);
                deflater.finish();
                long offset = sink.position;
                int compressed = 0;
                while (!deflater.finished()) {
                    int k = deflater.deflate(deflated);
                    sink.put(deflated, 0, k);
                    compressed += k;
                }
                index.putLong(current);
                index.putLong(mask);
                index.putLong(offset);
                index.putInt(compressed);
                index.putInt(crc(group, 0, len));
                groups++;
                storedPages += present;
            }
            present = 0;
            mask = 0;
        }
    }

    /** Little-endian output that counts the bytes written (file offsets for the index). */
    private static final class Sink {
        final OutputStream out;
        private final byte[] scratch = new byte[8];
        private final ByteBuffer le = ByteBuffer.wrap(scratch).order(ByteOrder.LITTLE_ENDIAN);
        private final byte[] buffer = new byte[1 << 16];
        private int buffered;
        long position;

        Sink(OutputStream out) { this.out = out; }

        void put(byte[] b) { put(b, 0, b.length); }

        void put(byte[] b, int off, int len) {
            try {
                if (buffered + len > buffer.length) {
                    drain();
                }
                if (len >= buffer.length) {
                    out.write(b, off, len);
                } else {
                    System.arraycopy(b, off, buffer, buffered, len);
                    buffered += len;
                }
                position += len;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        void putInt(int v) { le.putInt(0, v); put(scratch, 0, 4); }

        void putLong(long v) { le.putLong(0, v); put(scratch, 0, 8); }

        void putString(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            putInt(b.length);
            put(b);
        }

        void flushUnchecked() {
            try {
                flush();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        void flush() throws IOException {
            drain();
            out.flush();
        }

        private void drain() throws IOException {
            out.write(buffer, 0, buffered);
            buffered = 0;
        }
    }
}
