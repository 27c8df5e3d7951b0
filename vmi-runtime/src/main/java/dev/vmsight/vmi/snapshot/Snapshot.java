package dev.vmsight.vmi.snapshot;

import static dev.vmsight.vmi.snapshot.SnapshotFormat.*;

import dev.vmsight.vmi.phys.MemoryMap;
import dev.vmsight.vmi.phys.PhysicalMemory;
import dev.vmsight.vmi.phys.PhysicalMemoryException;
import dev.vmsight.vmi.vcpu.VcpuState;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * A saved snapshot (layout in {@link SnapshotFormat}): metadata, one vCPU's registers and guest
 * RAM, which it serves as a {@link PhysicalMemory}. Opening reads and checks the header, the
 * index and their CRCs; a page read inflates only its group (a small LRU of inflated groups is
 * kept) and checks that group's CRC. {@link #verify()} checks every group.
 *
 * <p>Thread-safe: reads are positional and the group cache is guarded.
 */
public final class Snapshot implements PhysicalMemory {
    private static final int CACHED_GROUPS = 32;

    private final Path path;
    private final FileChannel channel;
    private final Map<String, String> metadata;
    private final VcpuState registers;
    private final MemoryMap map;
    private final int pagesPerGroup;
    private final long storedPages;
    // the index, as parallel arrays sorted by group number
    private final long[] groupNumbers;
    private final long[] masks;
    private final long[] offsets;
    private final int[] lengths;
    private final int[] crcs;
    private final LinkedHashMap<Integer, byte[]> inflated = new LinkedHashMap<>(64, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Integer, byte[]> eldest) {
            return size() > CACHED_GROUPS;
        }
    };

    private Snapshot(Path path, FileChannel channel) throws IOException {
        this.path = path;
        this.channel = channel;
        long fileSize = channel.size();
        if (fileSize < MAGIC.length + 8 + 4 + TRAILER) {
            throw bad(fileSize, "file of " + fileSize + " bytes is too short for a snapshot (truncated?)");
        }
        ByteBuffer start = read(0, MAGIC.length + 8, "header");
        byte[] magic = new byte[MAGIC.length];
        start.get(magic);
        if (!Arrays.equals(magic, MAGIC)) {
            throw bad(0, "not a vmsight snapshot (magic " + printable(magic) + ", expected VMSISNAP)");
        }
        int version = start.getInt();
        if (version != VERSION) throw bad(8, "format version " + version + ", this vmsight reads version " + VERSION);
        int headerLength = start.getInt();
        long bodyAt = MAGIC.length + 8;
        if (headerLength < 16 || headerLength > MAX_HEADER || bodyAt + headerLength + 4 + TRAILER > fileSize) {
            throw bad(12, "header length " + headerLength + " does not fit the file of " + fileSize + " bytes (truncated?)");
        }
        ByteBuffer body = read(bodyAt, headerLength + 4, "header");
        int storedCrc = body.getInt(headerLength);
        if (storedCrc != SnapshotWriter.crc(body.array(), 0, headerLength)) {
            throw bad(bodyAt, "header CRC mismatch");
        }
        body.limit(headerLength);
        long headerEnd = bodyAt + headerLength + 4;
        try {
            pagesPerGroup = body.getInt();
            if (pagesPerGroup < 1 || pagesPerGroup > 64) throw bad(bodyAt, "pages per group " + pagesPerGroup + " not in 1..64");
            Map<String, String> meta = new LinkedHashMap<>();
            for (int i = count(body, bodyAt); i > 0; i--) meta.put(string(body, bodyAt), string(body, bodyAt));
            metadata = Collections.unmodifiableMap(meta);
            Map<String, Long> regs = new LinkedHashMap<>();
            for (int i = count(body, bodyAt); i > 0; i--) regs.put(string(body, bodyAt), body.getLong());
            registers = new VcpuState("snapshot " + path, regs);
            List<MemoryMap.Segment> segments = new ArrayList<>();
            for (int i = count(body, bodyAt); i > 0; i--) {
                long physStart = body.getLong(), length = body.getLong();
                if ((physStart | length) % PAGE != 0 || length <= 0) {
                    throw bad(bodyAt + body.position() - 16, "memory-map segment 0x" + Long.toHexString(physStart)
                            + "+0x" + Long.toHexString(length) + " is not page-aligned");
                }
                segments.add(new MemoryMap.Segment(physStart, length, physStart));
            }
            map = new MemoryMap(segments);
        } catch (java.nio.BufferUnderflowException | IllegalArgumentException e) {
            throw bad(bodyAt + body.position(), "header body ends early or is malformed: " + e);
        }

        ByteBuffer trailer = read(fileSize - TRAILER, TRAILER, "trailer");
        byte[] end = new byte[END_MAGIC.length];
        trailer.get(TRAILER - END_MAGIC.length, end);
        if (!Arrays.equals(end, END_MAGIC)) {
            throw bad(fileSize - END_MAGIC.length, "no end marker: the file is truncated or was not completely written");
        }
        long indexOffset = trailer.getLong(0);
        int groups = trailer.getInt(8);
        int indexCrc = trailer.getInt(12);
        storedPages = trailer.getLong(16);
        if (groups < 0 || indexOffset < headerEnd || indexOffset + (long) groups * INDEX_ENTRY != fileSize - TRAILER) {
            throw bad(fileSize - TRAILER, "index of " + groups + " groups at 0x" + Long.toHexString(indexOffset)
                    + " does not end at the trailer (0x" + Long.toHexString(fileSize - TRAILER) + "): truncated or corrupt");
        }
        ByteBuffer index = read(indexOffset, groups * INDEX_ENTRY, "index");
        if (SnapshotWriter.crc(index.array(), 0, index.capacity()) != indexCrc) throw bad(indexOffset, "index CRC mismatch");
        groupNumbers = new long[groups];
        masks = new long[groups];
        offsets = new long[groups];
        lengths = new int[groups];
        crcs = new int[groups];
        long lastEnd = headerEnd;
        for (int i = 0; i < groups; i++) {
            long at = indexOffset + (long) i * INDEX_ENTRY;
            groupNumbers[i] = index.getLong();
            masks[i] = index.getLong();
            offsets[i] = index.getLong();
            lengths[i] = index.getInt();
            crcs[i] = index.getInt();
            if (i > 0 && groupNumbers[i] <= groupNumbers[i - 1]) throw bad(at, "index not sorted by group number");
            if (masks[i] == 0 || pagesPerGroup < 64 && masks[i] >>> pagesPerGroup != 0) {
                throw bad(at, "group " + groupNumbers[i] + " has page mask 0x" + Long.toHexString(masks[i]));
            }
            if (offsets[i] < lastEnd || lengths[i] <= 0 || offsets[i] + lengths[i] > indexOffset) {
                throw bad(at, "group " + groupNumbers[i] + " data at 0x" + Long.toHexString(offsets[i]) + "+" + lengths[i]
                        + " is outside the group area 0x" + Long.toHexString(headerEnd) + "-0x" + Long.toHexString(indexOffset));
            }
            lastEnd = offsets[i] + lengths[i];
        }
    }

    /** Opens and checks a snapshot's header and index; RAM is read on demand. */
    public static Snapshot open(Path path) {
        FileChannel ch;
        try {
            ch = FileChannel.open(path, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("snapshot " + path + " does not exist", e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open snapshot " + path + ": " + e.getMessage(), e);
        }
        try {
            return new Snapshot(path, ch);
        } catch (IOException e) {
            closeQuietly(ch);
            throw new UncheckedIOException("cannot read snapshot " + path + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            closeQuietly(ch);
            throw e;
        }
    }

    public Path path() { return path; }

    /** What the writer recorded (kernel build, training program, mark, time, ...), in key order. */
    public Map<String, String> metadata() { return metadata; }

    /** The vCPU's registers at the moment of the snapshot. */
    public VcpuState registers() { return registers; }

    /** 4 KiB pages stored in the file (the non-zero ones). */
    public long storedPages() { return storedPages; }

    /** Compressed groups in the file. */
    public int groups() { return groupNumbers.length; }

    @Override public MemoryMap map() { return map; }

    @Override public int idealBatchSize() { return pagesPerGroup * PAGE; }

    @Override public String describe() { return "snapshot " + path; }

    @Override
    public void read(long physAddr, byte[] dst, int off, int len) {
        java.util.Objects.checkFromIndexSize(off, len, dst.length);
        if (len == 0) return;
        if (physAddr < 0 || physAddr + len < physAddr || !map.covers(physAddr, len)) {
            throw new PhysicalMemoryException(describe(), firstOutside(physAddr, len), len,
                    "not guest RAM (outside the snapshot's memory map " + ranges() + ")");
        }
        long at = physAddr;
        int done = 0;
        while (done < len) {
            long page = at >>> PAGE_SHIFT;
            int inPage = (int) (at & (PAGE - 1));
            int n = Math.min(len - done, PAGE - inPage);
            copyPage(page, inPage, dst, off + done, n);
            done += n;
            at += n;
        }
    }

    /** Inflates and checks every group; returns how many pages that covered. */
    public long verify() {
        long pages = 0;
        for (int i = 0; i < groupNumbers.length; i++) {
            inflate(i);
            pages += Long.bitCount(masks[i]);
        }
        if (pages != storedPages) throw bad(0, "trailer says " + storedPages + " stored pages, the index holds " + pages);
        return pages;
    }

    /** Drops the inflated groups kept for reuse (memory, or to measure cold reads). */
    public void clearCache() {
        synchronized (inflated) {
            inflated.clear();
        }
    }

    /** File offsets of the stored groups, in index order (for tests that damage a group). */
    long[] verifyOffsets() { return offsets.clone(); }

    @Override
    public void close() {
        closeQuietly(channel);
    }

    private void copyPage(long page, int inPage, byte[] dst, int off, int n) {
        long g = page / pagesPerGroup;
        int bit = (int) (page % pagesPerGroup);
        int i = Arrays.binarySearch(groupNumbers, g);
        if (i < 0 || (masks[i] & (1L << bit)) == 0) {
            Arrays.fill(dst, off, off + n, (byte) 0); // not stored: an all-zero page
            return;
        }
        byte[] group;
        synchronized (inflated) {
            group = inflated.get(i);
        }
        if (group == null) {
            group = inflate(i);
            synchronized (inflated) {
                inflated.put(i, group);
            }
        }
        int slot = Long.bitCount(masks[i] & ((1L << bit) - 1));
        System.arraycopy(group, slot * PAGE + inPage, dst, off, n);
    }

    private byte[] inflate(int i) {
        ByteBuffer compressed;
        try {
            compressed = read(offsets[i], lengths[i], "group " + groupNumbers[i]);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read snapshot " + path + ": " + e.getMessage(), e);
        }
        byte[] out = new byte[Long.bitCount(masks[i]) * PAGE];
        Inflater inflater = new Inflater();
        try {
            inflater.setInput(compressed.array(), 0, lengths[i]);
            int n = 0;
            while (n < out.length && !inflater.finished()) {
                int k = inflater.inflate(out, n, out.length - n);
                if (k == 0 && (inflater.needsInput() || inflater.needsDictionary())) break;
                n += k;
            }
            if (n != out.length || !inflater.finished()) {
                throw bad(offsets[i], "group " + groupNumbers[i] + " inflates to " + n + " bytes, expected " + out.length
                        + (inflater.finished() ? "" : " (stream does not end where the index says)"));
            }
        } catch (DataFormatException e) {
            throw bad(offsets[i], "group " + groupNumbers[i] + " is not a valid deflate stream: " + e.getMessage());
        } finally {
            inflater.end();
        }
        if (SnapshotWriter.crc(out, 0, out.length) != crcs[i]) {
            throw bad(offsets[i], "CRC mismatch in group " + groupNumbers[i] + " (guest-physical 0x"
                    + Long.toHexString(groupNumbers[i] * pagesPerGroup * PAGE) + ")");
        }
        return out;
    }

    private ByteBuffer read(long offset, int len, String what) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(len).order(ByteOrder.LITTLE_ENDIAN);
        long at = offset;
        while (b.hasRemaining()) {
            int k = channel.read(b, at);
            if (k < 0) throw bad(at, what + " ends early: the file is truncated", new EOFException());
            at += k;
        }
        return b.flip();
    }

    private int count(ByteBuffer body, long bodyAt) {
        int n = body.getInt();
        if (n < 0 || n > body.remaining()) throw bad(bodyAt + body.position() - 4, "count " + n + " does not fit the header");
        return n;
    }

    private String string(ByteBuffer body, long bodyAt) {
        int n = count(body, bodyAt);
        byte[] b = new byte[n];
        body.get(b);
        return new String(b, StandardCharsets.UTF_8);
    }

    private long firstOutside(long phys, long len) {
        if (phys < 0) return phys;
        long at = phys;
        while (at < phys + len) {
            int i = map.indexOf(at);
            if (i < 0) return at;
            at = map.segments().get(i).physEnd();
        }
        return phys + len;
    }

    private String ranges() {
        StringBuilder b = new StringBuilder();
        for (MemoryMap.Segment s : map.segments()) {
            if (b.length() > 0) b.append(' ');
            b.append("0x").append(Long.toHexString(s.physStart())).append("-0x").append(Long.toHexString(s.physEnd()));
        }
        return b.toString();
    }

    private SnapshotFormatException bad(long offset, String detail) {
        return new SnapshotFormatException(path, offset, detail);
    }

    private SnapshotFormatException bad(long offset, String detail, Throwable cause) {
        return new SnapshotFormatException(path, offset, detail, cause);
    }

    private static String printable(byte[] b) {
        StringBuilder s = new StringBuilder();
        for (byte x : b) s.append(x >= 32 && x < 127 ? String.valueOf((char) x) : String.format("\\x%02x", x & 0xff));
        return s.toString();
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // nothing useful to do: the channel was only read
        }
    }
}
