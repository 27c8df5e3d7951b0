package dev.vmsight.jit;

import dev.vmsight.vmi.GuestMemoryException;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Guest linear memory as a compiled monitor sees it during one run: a direct-mapped software TLB
 * of page buffers that the generated code probes inline ({@link #tags}, {@link #pages}: the fast
 * path), with {@link #read} and {@link #write} as the slow path. Every write lands in a private
 * copy of the page (copy-on-write, keyed by linear page): the {@link PageSource}, and so the
 * guest, is never written. A page the source cannot give (a user page training never read, an
 * unreadable frame) can still be written, as in the reference executor: its written bytes read
 * back, its other bytes stay unreadable (such pages never enter the TLB, so every read of them
 * takes the slow path). Pages of the {@link Arena} (memory of ALLOCATE call summaries) are never
 * asked of the source and are always such pages: their stored bytes read back, a byte never
 * stored is a {@link GuestMemoryException} (never a zero, never the guest's byte). Not
 * thread-safe: one instance per run.
 */
public final class MonitorMemory {
    /** TLB slots; a power of two (the generated code masks with SLOTS - 1). */
    static final int SLOTS = 256;

    /** Linear page number held by each slot; -1 (no page number) when empty. */
    final long[] tags = new long[SLOTS];
    /** The page buffer of each slot (little-endian). */
    final ByteBuffer[] pages = new ByteBuffer[SLOTS];
    /** The slot's page number when its buffer is the run's own (overlay) copy, else -1: stores may go straight in. */
    private final long[] writableTags = new long[SLOTS];

    private final PageSource source;
    private final Map<Long, ByteBuffer> overlay = new HashMap<>();
    /** Written pages whose base the source could not give: the bytes written and which they are. */
    private final Map<Long, Partial> partial = new HashMap<>();
    /** Direct-mapped cache of {@link #partial} (arena objects are written and read field by field). */
    private final long[] partialTags = new long[SLOTS];
    private final Partial[] partialPages = new Partial[SLOTS];
    private long misses;

    private record Partial(byte[] bytes, boolean[] written) { }

    public MonitorMemory(PageSource source) {
        this.source = source;
        Arrays.fill(tags, -1L);
        Arrays.fill(writableTags, -1L);
        Arrays.fill(partialTags, -1L);
    }

    /** The partial page {@code vpn}, or null when it is none (both answers cached: only {@link #newPartialPage} changes them). */
    private Partial partialPage(long vpn) {
        if (partial.isEmpty()) {
            return null;
        }
        int slot = (int) vpn & (SLOTS - 1);
        if (partialTags[slot] == vpn) {
            return partialPages[slot];
        }
        Partial q = partial.get(vpn);
        partialTags[slot] = vpn;
        partialPages[slot] = q;
        return q;
    }

    private Partial newPartialPage(long vpn) {
        Partial q = new Partial(new byte[4096], new boolean[4096]);
        partial.put(vpn, q);
        int slot = (int) vpn & (SLOTS - 1);
        partialTags[slot] = vpn;
        partialPages[slot] = q;
        return q;
    }

    /** Slow path: zero-extended little-endian read of 1, 2, 4 or 8 bytes at {@code va}, across pages if need be. */
    public long read(long va, int size) {
        Partial q0 = partialPage(va >>> 12);
        if (q0 != null || partialPage((va + size - 1) >>> 12) != null || Arena.touches(va, size)) {
            int off = (int) va & 0xFFF;
            Partial q = off + size <= 4096 ? q0 : null;
            if (q != null && allWritten(q, off, size)) {      // the common case: a field the run stored
                long v = 0;
                for (int i = 0; i < size; i++) {
                    v |= (q.bytes[off + i] & 0xFFL) << (8 * i);
                }
                return v;
            }
            long v = 0;
            for (int i = 0; i < size; i++) {     // lowest byte first: a failure names the first byte missing
                v |= byteAt(va + i) << (8 * i);
            }
            return v;
        }
        int off = (int) va & 0xFFF;
        if (off + size <= 4096) {
            return get(page(va >>> 12), off, size);
        }
        long v = 0;
        for (int i = 0; i < size; i++) {
            long a = va + i;
            v |= get(page(a >>> 12), (int) a & 0xFFF, 1) << (8 * i);
        }
        return v;
    }

    /** Writes the low {@code size} bytes of {@code value} at {@code va} into the overlay (all pages are resolved first). */
    public void write(long va, int size, long value) {
        long vpn = va >>> 12;
        int slot = (int) vpn & (SLOTS - 1);
        int off = (int) va & 0xFFF;
        if (writableTags[slot] == vpn && off + size <= 4096) {     // fast path: a page this run already owns
            ByteBuffer p = pages[slot];
            switch (size) {
                case 1 -> p.put(off, (byte) value);
                case 2 -> p.putShort(off, (short) value);
                case 4 -> p.putInt(off, (int) value);
                default -> p.putLong(off, value);
            }
            return;
        }
        ByteBuffer first = writable(va >>> 12);
        ByteBuffer last = writable((va + size - 1) >>> 12);
        Partial firstPartial = first == null ? partialPage(va >>> 12) : null;
        Partial lastPartial = last == null ? partialPage((va + size - 1) >>> 12) : null;
        for (int i = 0; i < size; i++) {
            long a = va + i;
            int o = (int) a & 0xFFF;
            boolean onFirst = (a >>> 12) == (va >>> 12);
            ByteBuffer p = onFirst ? first : last;
            if (p != null) {
                p.put(o, (byte) (value >>> (8 * i)));
            } else {
                Partial q = onFirst ? firstPartial : lastPartial;
                q.bytes[o] = (byte) (value >>> (8 * i));
                q.written[o] = true;
            }
        }
    }

    /** Stores {@code length} zero bytes from {@code va} (what an allocator zeroed), as that many byte writes would. */
    public void zero(long va, long length) {
        long end = va + length;
        for (long a = va; a < end; ) {
            long pageEnd = ((a >>> 12) + 1) << 12;
            int n = (int) (Math.min(end, pageEnd) - a);
            int o = (int) a & 0xFFF;
            ByteBuffer p = writable(a >>> 12);
            if (p != null) {
                Arrays.fill(p.array(), o, o + n, (byte) 0);     // the run's own copy wraps a heap array
            } else {
                Partial q = partialPage(a >>> 12);
                Arrays.fill(q.bytes, o, o + n, (byte) 0);
                Arrays.fill(q.written, o, o + n, true);
            }
            a += n;
        }
    }

    private static boolean allWritten(Partial q, int off, int size) {
        for (int i = 0; i < size; i++) {
            if (!q.written[off + i]) {
                return false;
            }
        }
        return true;
    }

    private long byteAt(long a) {
        int o = (int) a & 0xFFF;
        Partial q = partialPage(a >>> 12);
        if (q != null && q.written[o]) {
            return q.bytes[o] & 0xFFL;
        }
        if (Arena.holdsPage(a >>> 12)) {
            throw neverStored(a);
        }
        return get(page(a >>> 12), o, 1);   // an unwritten byte of a partial page: the source's error
    }

    /**
     * Pages written by the run (linear page number → copy); the base stays as it was. Pages whose
     * base was unreadable are not listed (only {@link #read} knows which of their bytes exist).
     */
    public Map<Long, ByteBuffer> overlay() { return Map.copyOf(overlay); }

    /** TLB misses so far (page lookups that went to the overlay or the source). */
    public long misses() { return misses; }

    private static long get(ByteBuffer b, int off, int size) {
        return switch (size) {
            case 1 -> b.get(off) & 0xFFL;
            case 2 -> b.getShort(off) & 0xFFFFL;
            case 4 -> b.getInt(off) & 0xFFFF_FFFFL;
            case 8 -> b.getLong(off);
            default -> throw new IllegalArgumentException("bad access size " + size);
        };
    }

    private static GuestMemoryException neverStored(long va) {
        return new GuestMemoryException(GuestMemoryException.Kind.NOT_PRESENT, va, -1, 0,
                "arena memory (of an ALLOCATE call summary) this run never stored: it has no guest bytes");
    }

    private ByteBuffer page(long vpn) {
        int slot = (int) vpn & (SLOTS - 1);
        if (tags[slot] == vpn) {
            return pages[slot];
        }
        if (Arena.holdsPage(vpn)) {     // never cached, never the source's: read() goes byte by byte there
            throw neverStored(vpn << 12);
        }
        misses++;
        ByteBuffer b = overlay.get(vpn);
        writableTags[slot] = b == null ? -1L : vpn;
        if (b == null) {
            b = source.page(vpn << 12).order(ByteOrder.LITTLE_ENDIAN);
        }
        tags[slot] = vpn;
        pages[slot] = b;
        return b;
    }

    private ByteBuffer writable(long vpn) {
        ByteBuffer copy = overlay.get(vpn);
        if (copy == null) {
            if (partialPage(vpn) != null) {
                return null;
            }
            if (Arena.holdsPage(vpn)) {
                newPartialPage(vpn);
                return null;
            }
            ByteBuffer base;
            try {
                base = page(vpn);
            } catch (GuestMemoryException e) {
                newPartialPage(vpn);
                return null;
            }
            byte[] bytes = new byte[4096];
            base.get(0, bytes);
            copy = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
            overlay.put(vpn, copy);
            int slot = (int) vpn & (SLOTS - 1);
            tags[slot] = vpn;
            pages[slot] = copy;
            writableTags[slot] = vpn;
        }
        return copy;
    }
}
