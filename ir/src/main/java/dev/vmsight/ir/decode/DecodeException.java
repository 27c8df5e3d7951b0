package dev.vmsight.ir.decode;

import java.util.HexFormat;

/**
 * The bytes at an address are not an instruction the decoder knows: an invalid or unsupported
 * encoding, or an instruction cut off by the end of the buffer ({@link #truncated()}).
 * Carries the address and the bytes that were looked at.
 */
public final class DecodeException extends RuntimeException {

    private final long address;
    private final byte[] bytes;
    private final boolean truncated;

    private DecodeException(String message, long address, byte[] bytes, boolean truncated) {
        super(message);
        this.address = address;
        this.bytes = bytes.clone();
        this.truncated = truncated;
    }

    static DecodeException invalid(long address, byte[] bytes, String why) {
        return new DecodeException(String.format("cannot decode instruction at 0x%x (bytes %s): %s",
                address, hex(bytes), why), address, bytes, false);
    }

    static DecodeException truncated(long address, byte[] bytes) {
        return new DecodeException(String.format("truncated instruction at 0x%x: buffer ends after %d byte(s) (%s)",
                address, bytes.length, hex(bytes)), address, bytes, true);
    }

    /** Address of the instruction's first byte. */
    public long address() { return address; }

    /** The bytes examined, from the first byte up to where decoding stopped (for a truncation: all that remained). */
    public byte[] bytes() { return bytes.clone(); }

    /** True if the buffer ended inside the instruction (more bytes might make it valid). */
    public boolean truncated() { return truncated; }

    static String hex(byte[] bytes) {
        return bytes.length == 0 ? "none" : HexFormat.ofDelimiter(" ").formatHex(bytes);
    }
}
