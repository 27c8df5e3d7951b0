package dev.vmsight.tracer.trace.file;

import java.nio.charset.StandardCharsets;

/**
 * The file's fixed structures: magic, version, frame heads and the footer. Every block (header,
 * chunk, summary, index) is one frame: tag, compressed length, uncompressed length, for chunks
 * also event count and first step, then the deflated payload, then a CRC32 of all that precedes
 * it in the frame. Integers in frame heads and the footer are big-endian so that {@code xxd}
 * shows them as written.
 */
final class Frames {
    static final byte[] MAGIC = "VMSTRACE".getBytes(StandardCharsets.US_ASCII);
    static final byte[] END_MAGIC = "VMSTREND".getBytes(StandardCharsets.US_ASCII);
    static final int VERSION = 1;
    static final long VERSION_OFFSET = 8;
    static final long HEADER_OFFSET = 10;

    static final int TAG_HEADER = 'H';
    static final int TAG_CHUNK = 'C';
    static final int TAG_SUMMARY = 'S';
    static final int TAG_INDEX = 'I';

    /** Tag, compressed length, uncompressed length. */
    static final int HEAD = 1 + 4 + 4;
    /** A chunk's head adds its event count and first step. */
    static final int CHUNK_HEAD = HEAD + 4 + 8;
    static final int CRC = 4;

    /** Index offset (u64), chunk count (u32), CRC32 of those 12 bytes (u32), {@link #END_MAGIC}. */
    static final int FOOTER = 8 + 4 + 4 + 8;

    /** No block is larger uncompressed: a reader refuses larger claims before allocating. */
    static final int MAX_RAW = 256 << 20;
    /** Deflate's worst case for {@link #MAX_RAW} (stored blocks: 5 bytes per 16 KiB), rounded up. */
    static final int MAX_COMPRESSED = MAX_RAW + (MAX_RAW >>> 10) + 1024;

    /** Default uncompressed chunk size: decoded, a chunk is what a pass holds in memory. */
    static final int CHUNK_TARGET = 256 << 10;

    private Frames() { }

    static int headSize(int tag) { return tag == TAG_CHUNK ? CHUNK_HEAD : HEAD; }

    static String name(int tag) {
        return switch (tag) {
            case TAG_HEADER -> "header";
            case TAG_CHUNK -> "chunk";
            case TAG_SUMMARY -> "summary";
            case TAG_INDEX -> "chunk index";
            default -> "block with tag 0x" + Integer.toHexString(tag);
        };
    }

    static int u32(byte[] b, int off) {
        return (b[off] & 0xFF) << 24 | (b[off + 1] & 0xFF) << 16 | (b[off + 2] & 0xFF) << 8 | b[off + 3] & 0xFF;
    }

    static long u64(byte[] b, int off) {
        return (long) u32(b, off) << 32 | u32(b, off + 4) & 0xFFFF_FFFFL;
    }
}
