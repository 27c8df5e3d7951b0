package dev.vmsight.ir.decode;

/**
 * One operand of a decoded instruction. Operands are listed in Intel order (destination
 * first), as objdump's Intel syntax prints them.
 */
public sealed interface Operand {

    /** Width of the operand in bytes (0 when it has none, e.g. the target of lea or a far pointer's memory). */
    int size();

    /** A register operand. */
    record Reg(Register register) implements Operand {
        @Override public int size() { return register.size(); }
    }

    /**
     * A memory operand: {@code segment:[base + index*scale + disp]}.
     *
     * @param segment   explicit segment override, or {@code null} for the default segment
     * @param base      base register or {@code null}; {@link Register#RIP} for RIP-relative
     *                  (then the effective address is the next instruction's address + disp)
     * @param index     index register or {@code null}
     * @param scale     1, 2, 4 or 8
     * @param disp      sign-extended displacement
     * @param size      access width in bytes (0 for lea/prefetch/invlpg-style address-only uses)
     * @param addressSize 8, or 4 with a 0x67 prefix (the effective address is then truncated to 32 bits)
     */
    record Mem(Register segment, Register base, Register index, int scale, long disp, int size, int addressSize)
            implements Operand {
        public boolean ripRelative() { return base == Register.RIP; }
    }

    /**
     * An immediate, already sign- or zero-extended as the instruction uses it.
     *
     * @param value the value as a 64-bit integer
     * @param size  the operand width it applies to, in bytes
     */
    record Imm(long value, int size) implements Operand { }

    /** A relative branch target, resolved to an absolute address. */
    record Rel(long target) implements Operand {
        @Override public int size() { return 8; }
    }
}
