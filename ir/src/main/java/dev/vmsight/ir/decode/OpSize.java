package dev.vmsight.ir.decode;

/** How an opcode's operand size follows from the prefixes (Intel SDM terms). */
enum OpSize {
    /** always one byte */
    BYTE,
    /** 16, 32 or 64 bits: 66 selects 16, REX.W selects 64 and wins over 66 */
    V,
    /** 64 bits by default in 64-bit mode, 16 with 66 (push, pop, near indirect branches...) */
    D64,
    /** always 64 bits (near relative branches, mov to/from CR/DR, syscall-style state) */
    F64,
    /** always 16 bits */
    WORD,
    /** 32 bits, or 64 with REX.W; 66 is ignored */
    Y,
    /** 16 with 66, else 32; REX.W is ignored (in/out/ins/outs) */
    Z,
    /** always 32 bits */
    DWORD,
    /** an xmm register's 16 bytes */
    XMM
}
