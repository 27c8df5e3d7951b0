package dev.vmsight.ir.decode;

/** The sixteen x86 condition codes, in encoding order (the low nibble of Jcc/SETcc/CMOVcc). */
public enum Condition {
    O, NO, B, AE, E, NE, BE, A, S, NS, P, NP, L, GE, LE, G;

    private static final Condition[] BY_ENCODING = values();

    public static Condition fromEncoding(int cc) { return BY_ENCODING[cc & 0xF]; }

    public int encoding() { return ordinal(); }

    public Condition negate() { return BY_ENCODING[ordinal() ^ 1]; }
}
