package dev.vmsight.ir.decode;

import java.util.List;

/**
 * One decoded x86-64 instruction.
 *
 * @param address     virtual address of its first byte
 * @param bytes       its encoding (length = {@code bytes.length}); do not mutate
 * @param mnemonic    what it does; condition-code families (Jcc, SETcc, CMOVcc) share one
 *                    mnemonic and carry the condition in {@code condition}
 * @param condition   the condition of a Jcc/SETcc/CMOVcc, else {@code null}
 * @param operands    explicit operands in Intel order (destination first)
 * @param operandSize effective operand size in bytes (1, 2, 4, 8; 16 for xmm forms)
 * @param prefixes    the legacy prefixes that were present
 */
public record Instruction(long address, byte[] bytes, Mnemonic mnemonic, Condition condition,
                          List<Operand> operands, int operandSize, Prefixes prefixes) {

    public Instruction {
        operands = List.copyOf(operands);
    }

    public int length() { return bytes.length; }

    /** Address of the next instruction; RIP-relative operands and relative branches count from here. */
    public long nextAddress() { return address + bytes.length; }

    public Operand operand(int i) { return operands.get(i); }

    /** e.g. {@code 0x1000: 48 89 e5  mov rbp,rsp} (records compare {@code bytes} by identity; use {@link #length()} and the fields). */
    @Override
    public String toString() { return IntelSyntax.describe(this); }

    /**
     * Legacy prefixes. {@code rep} is F3 and {@code repne} F2 as encoded (on string instructions
     * they mean REP/REPE and REPNE; on others they may select another instruction, which the
     * decoder has then already done).
     */
    public record Prefixes(boolean lock, boolean rep, boolean repne, boolean operandSize16,
                           boolean addressSize32, Register segment) {
        public static final Prefixes NONE = new Prefixes(false, false, false, false, false, null);
    }
}
