package dev.vmsight.ir.decode;

/**
 * x86-64 (64-bit mode) instruction decoder. Stateless and thread-safe. See the package
 * documentation for the operand conventions and ir/DECODER.md for what is covered.
 */
public final class Decoder {

    private Decoder() { }

    /**
     * Decodes the instruction whose first byte is {@code code[offset]} and which lives at
     * virtual address {@code address}.
     *
     * @throws DecodeException for an invalid or unsupported encoding, or (with
     *         {@link DecodeException#truncated()}) when {@code code} ends inside the instruction
     */
    public static Instruction decode(byte[] code, int offset, long address) {
        return new DecodeRun(code, offset, address).decode();
    }

    /** Decodes the instruction at the start of {@code code}. */
    public static Instruction decode(byte[] code, long address) {
        return decode(code, 0, address);
    }
}
