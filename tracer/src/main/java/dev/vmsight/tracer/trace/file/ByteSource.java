package dev.vmsight.tracer.trace.file;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Reads what {@link ByteSink} wrote from one decompressed block. Every read checks the block's
 * end, so a damaged block ends in {@link Malformed} (which the reader turns into a
 * {@code TraceFormatException} at the block's file offset), never in an array index exception.
 */
final class ByteSource {
    /** A read past the end of the block, or a length or count that cannot fit in it. */
    static final class Malformed extends Exception {
        Malformed(String what) { super(what, null, false, false); }
    }

    private final byte[] buf;
    private final int end;
    private int pos;

    ByteSource(byte[] buf, int end) {
        this.buf = buf;
        this.end = end;
    }

    int position() { return pos; }

    boolean atEnd() { return pos >= end; }

    int u8() throws Malformed {
        if (pos >= end) {
            throw new Malformed("a byte at payload offset " + pos + " runs off the end of the block (" + end + " bytes)");
        }
        return buf[pos++] & 0xFF;
    }

    long varLong() throws Malformed {
        int start = pos;
        long v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (pos >= end) {
                throw new Malformed("the varint at payload offset " + start + " runs off the end of the block (" + end
                        + " bytes)");
            }
            byte b = buf[pos++];
            v |= (long) (b & 0x7F) << shift;
            if (b >= 0) {
                return v;
            }
        }
        throw new Malformed("the varint at payload offset " + start + " is longer than 10 bytes");
    }

    int varInt() throws Malformed {
        int start = pos;
        long v = varLong();
        if ((v >>> 32) != 0) {
            throw new Malformed("the varint at payload offset " + start + " is " + Long.toUnsignedString(v)
                    + ", more than 32 bits");
        }
        return (int) v;
    }

    long zigzag() throws Malformed {
        long v = varLong();
        return (v >>> 1) ^ -(v & 1);
    }

    int zigzagInt() throws Malformed {
        int start = pos;
        long v = zigzag();
        if (v != (int) v) {
            throw new Malformed("the value at payload offset " + start + " is " + v + ", outside the int range");
        }
        return (int) v;
    }

    boolean bool() throws Malformed {
        int start = pos;
        int b = u8();
        if (b > 1) {
            throw new Malformed("the boolean at payload offset " + start + " is " + b);
        }
        return b == 1;
    }

    /** A count of items each at least {@code minItemBytes} long: checked against what is left. */
    int count(int minItemBytes) throws Malformed {
        int start = pos;
        int n = varInt();
        if (n < 0 || (long) n * minItemBytes > end - pos) {
            throw new Malformed("the count " + Integer.toUnsignedString(n) + " at payload offset " + start
                    + " does not fit in the " + (end - pos) + " bytes left in the block");
        }
        return n;
    }

    byte[] nullableBytes() throws Malformed {
        int start = pos;
        int n = varInt();
        if (n == 0) {
            return null;
        }
        int len = n - 1;
        if (len < 0 || len > end - pos) {
            throw new Malformed("the length " + Integer.toUnsignedString(len) + " at payload offset " + start
                    + " runs off the end of the block (" + (end - pos) + " bytes left)");
        }
        byte[] b = Arrays.copyOfRange(buf, pos, pos + len);
        pos += len;
        return b;
    }

    String string() throws Malformed {
        byte[] b = nullableBytes();
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }

    long[] longs() throws Malformed {
        long[] v = new long[count(1)];
        for (int i = 0; i < v.length; i++) {
            v[i] = zigzag();
        }
        return v;
    }

    int[] ints() throws Malformed {
        int[] v = new int[count(1)];
        for (int i = 0; i < v.length; i++) {
            v[i] = zigzagInt();
        }
        return v;
    }
}
