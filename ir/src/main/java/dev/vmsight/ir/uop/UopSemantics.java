package dev.vmsight.ir.uop;

/**
 * The pure value semantics of every µop kind that computes a value, in one place: the
 * interpreter calls these and the JIT can emit calls to them (or mirror them), so both agree
 * bit for bit. {@code size} is the operand width in bytes. None has undefined behaviour.
 */
public final class UopSemantics {
    private UopSemantics() { }

    public static long mask(int size) { return size == 8 ? -1L : (1L << (size * 8)) - 1; }

    public static long zext(long v, int size) { return v & mask(size); }

    public static long sext(long v, int size) {
        int sh = 64 - size * 8;
        return (v << sh) >> sh;
    }

    public static long merge(long old, long v, int size, long shift) {
        long m = mask(size) << shift;
        return (old & ~m) | ((v << shift) & m);
    }

    public static long extract(long v, int size, long shift) { return (v >>> shift) & mask(size); }

    public static long rol(long v, long count, int size) {
        int bits = size * 8;
        int c = (int) Long.remainderUnsigned(count, bits);
        v &= mask(size);
        if (c == 0) {
            return v;
        }
        return ((v << c) | (v >>> (bits - c))) & mask(size);
    }

    public static long ror(long v, long count, int size) {
        int bits = size * 8;
        int c = (int) Long.remainderUnsigned(count, bits);
        return rol(v, bits - c, size);
    }

    /** High 64 bits of the unsigned product (Java 17 lacks Math.unsignedMultiplyHigh). */
    public static long umulh(long a, long b) {
        long h = Math.multiplyHigh(a, b);
        return h + ((a >> 63) & b) + ((b >> 63) & a);
    }

    public static long smulh(long a, long b) { return Math.multiplyHigh(a, b); }

    /** Thrown by the division µops: the #DE fault, with no value produced. */
    public static final class DivideError extends ArithmeticException {
        public DivideError(String message) { super(message); }
    }

    /** {quotient, remainder} of unsigned hi:lo / divisor at width size; #DE on zero or overflow. */
    public static long[] divu(long hi, long lo, long divisor, int size) {
        long m = mask(size);
        hi &= m;
        lo &= m;
        divisor &= m;
        if (divisor == 0) {
            throw new DivideError("divide by zero");
        }
        if (size == 8) {
            if (Long.compareUnsigned(hi, divisor) >= 0) {
                throw new DivideError("quotient overflow");
            }
            java.math.BigInteger n = new java.math.BigInteger(Long.toUnsignedString(hi)).shiftLeft(64)
                    .or(new java.math.BigInteger(Long.toUnsignedString(lo)));
            java.math.BigInteger[] qr = n.divideAndRemainder(new java.math.BigInteger(Long.toUnsignedString(divisor)));
            return new long[]{qr[0].longValue(), qr[1].longValue()};
        }
        long n = (hi << (size * 8)) | lo;
        long q = Long.divideUnsigned(n, divisor);
        if (Long.compareUnsigned(q, m) > 0) {
            throw new DivideError("quotient overflow");
        }
        return new long[]{q, Long.remainderUnsigned(n, divisor)};
    }

    /** {quotient, remainder} of signed hi:lo / divisor at width size; #DE on zero or overflow. */
    public static long[] divs(long hi, long lo, long divisor, int size) {
        long m = mask(size);
        long d = sext(divisor & m, size);
        if (d == 0) {
            throw new DivideError("divide by zero");
        }
        if (size == 8) {
            java.math.BigInteger n = java.math.BigInteger.valueOf(hi).shiftLeft(64)
                    .or(new java.math.BigInteger(Long.toUnsignedString(lo)));
            java.math.BigInteger[] qr = n.divideAndRemainder(java.math.BigInteger.valueOf(d));
            if (qr[0].bitLength() > 63) {
                throw new DivideError("quotient overflow");
            }
            return new long[]{qr[0].longValue(), qr[1].longValue()};
        }
        int bits = size * 8;
        long n = (sext(hi & m, size) << bits) | (lo & m);
        if (size == 4 && n == Long.MIN_VALUE && d == -1) {
            throw new DivideError("quotient overflow");
        }
        long q = n / d;
        if (q != sext(q & m, size)) {
            throw new DivideError("quotient overflow");
        }
        return new long[]{q & m, (n % d) & m};
    }

    public static long bswap(long v, int size) {
        return switch (size) {
            case 8 -> Long.reverseBytes(v);
            case 4 -> Integer.reverseBytes((int) v) & 0xFFFF_FFFFL;
            case 2 -> Short.reverseBytes((short) v) & 0xFFFFL;
            default -> v & 0xFF;
        };
    }

    public static long bsf(long src, long old, int size) {
        long v = src & mask(size);
        return v == 0 ? old : Long.numberOfTrailingZeros(v);
    }

    public static long bsr(long src, long old, int size) {
        long v = src & mask(size);
        return v == 0 ? old : 63 - Long.numberOfLeadingZeros(v);
    }

    public static long tzcnt(long src, int size) {
        long v = src & mask(size);
        return v == 0 ? size * 8L : Long.numberOfTrailingZeros(v);
    }

    public static long lzcnt(long src, int size) {
        long v = src & mask(size);
        return Long.numberOfLeadingZeros(v) - (64 - size * 8L);
    }

    public static long popcnt(long src, int size) { return Long.bitCount(src & mask(size)); }

    public static long zero(long v, int size) { return (v & mask(size)) == 0 ? 1 : 0; }

    public static long sign(long v, int size) { return (v >>> (size * 8 - 1)) & 1; }

    public static long parity(long v) { return (Integer.bitCount((int) v & 0xFF) & 1) ^ 1; }

    public static long aux(long a, long b, long r) { return ((a ^ b ^ r) >>> 4) & 1; }

    public static long carryAdd(long a, long b, long c, int size) {
        long m = mask(size);
        a &= m;
        b &= m;
        if (size == 8) {
            long s = a + b;
            long carry = Long.compareUnsigned(s, a) < 0 ? 1 : 0;
            long s2 = s + (c & 1);
            return carry | (Long.compareUnsigned(s2, s) < 0 ? 1 : 0);
        }
        return ((a + b + (c & 1)) >>> (size * 8)) & 1;
    }

    public static long overflowAdd(long a, long b, long r, int size) {
        return (((a ^ r) & (b ^ r)) >>> (size * 8 - 1)) & 1;
    }

    public static long borrowSub(long a, long b, long c, int size) {
        long m = mask(size);
        a &= m;
        b &= m;
        if (size == 8) {
            if (Long.compareUnsigned(a, b) < 0) {
                return 1;
            }
            return (c & 1) != 0 && a == b ? 1 : 0;
        }
        return a < b + (c & 1) ? 1 : 0;
    }

    public static long overflowSub(long a, long b, long r, int size) {
        return (((a ^ b) & (a ^ r)) >>> (size * 8 - 1)) & 1;
    }
}
