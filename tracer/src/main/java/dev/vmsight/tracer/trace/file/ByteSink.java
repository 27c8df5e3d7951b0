package dev.vmsight.tracer.trace.file;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A growable little buffer that writes the format's primitives: unsigned LEB128 varints, zigzag
 * varints for values that may be negative, fixed-width big-endian integers for frame fields, and
 * nullable length-prefixed strings and arrays (length + 1, 0 meaning null).
 */
final class ByteSink {
    private byte[] buf;
    private int size;

    ByteSink(int capacity) { buf = new byte[Math.max(16, capacity)]; }

    int size() { return size; }

    byte[] array() { return buf; }

    void clear() { size = 0; }

    /** Drops what was written after {@code newSize} (an event that failed half-way). */
    void truncate(int newSize) { size = newSize; }

    /** Overwrites 4 bytes at {@code at} (a length known only after the payload). */
    void u32At(int at, int v) {
        buf[at] = (byte) (v >>> 24);
        buf[at + 1] = (byte) (v >>> 16);
        buf[at + 2] = (byte) (v >>> 8);
        buf[at + 3] = (byte) v;
    }

    /** Makes room for {@code more} bytes and returns the array to write them into at {@link #size()}. */
    byte[] reserve(int more) {
        ensure(more);
        return buf;
    }

    void advance(int n) { size += n; }

    byte[] toByteArray() { return Arrays.copyOf(buf, size); }

    private void ensure(int more) {
        if (size + more > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(buf.length * 2, size + more));
        }
    }

    void u8(int v) {
        ensure(1);
        buf[size++] = (byte) v;
    }

    void u32(int v) {
        ensure(4);
        buf[size++] = (byte) (v >>> 24);
        buf[size++] = (byte) (v >>> 16);
        buf[size++] = (byte) (v >>> 8);
        buf[size++] = (byte) v;
    }

    void u64(long v) {
        u32((int) (v >>> 32));
        u32((int) v);
    }

    /** Unsigned LEB128: 7 bits a byte, high bit = more; any 64-bit pattern in at most 10 bytes. */
    void varLong(long v) {
        ensure(10);
        byte[] b = buf;
        int p = size;
        while ((v & ~0x7FL) != 0) {
            b[p++] = (byte) ((v & 0x7F) | 0x80);
            v >>>= 7;
        }
        b[p++] = (byte) v;
        size = p;
    }

    void varInt(int v) { varLong(v & 0xFFFF_FFFFL); }

    /** Zigzag: small magnitudes of either sign stay short (kernel pointers are small negatives). */
    void zigzag(long v) { varLong((v << 1) ^ (v >> 63)); }

    void bool(boolean v) { u8(v ? 1 : 0); }

    void bytes(byte[] b, int off, int len) {
        ensure(len);
        System.arraycopy(b, off, buf, size, len);
        size += len;
    }

    void nullableBytes(byte[] b) {
        if (b == null) {
            varInt(0);
            return;
        }
        varInt(b.length + 1);
        bytes(b, 0, b.length);
    }

    void string(String s) {
        nullableBytes(s == null ? null : s.getBytes(StandardCharsets.UTF_8));
    }

    void longs(long[] values) {
        varInt(values.length);
        for (long v : values) {
            zigzag(v);
        }
    }

    void ints(int[] values) {
        varInt(values.length);
        for (int v : values) {
            zigzag(v);
        }
    }
}
