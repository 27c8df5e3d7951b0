package dev.vmsight.ir.decode;

import java.util.Locale;

/**
 * What a decoded instruction does. Names follow objdump's Intel syntax where one name maps to
 * one operation; condition-code families are one constant each ({@link #JCC}, {@link #SETCC},
 * {@link #CMOVCC}) with the condition on the {@link Instruction}. The decoder owns this list;
 * the lifter must handle every constant (exhaustive switch, no default).
 */
public enum Mnemonic {
    // data movement
    MOV, MOVZX, MOVSX, MOVSXD, MOVABS, PUSH, POP, LEA, XCHG, BSWAP, CBW, CWDE, CDQE, CWD, CDQ, CQO,
    MOVBE,
    // arithmetic
    ADD, ADC, SUB, SBB, INC, DEC, NEG, NOT, CMP, MUL, IMUL, DIV, IDIV, XADD, CMPXCHG, CMPXCHG8B, CMPXCHG16B,
    // logic
    AND, OR, XOR, TEST,
    // shifts and rotates
    SHL, SHR, SAR, ROL, ROR, RCL, RCR, SHLD, SHRD,
    // bit operations
    BT, BTS, BTR, BTC, BSF, BSR, TZCNT, LZCNT, POPCNT,
    // conditional
    JCC, SETCC, CMOVCC,
    // control flow
    JMP, CALL, RET, LEAVE, ENTER, JRCXZ, JECXZ, LOOP, LOOPE, LOOPNE,
    // flags
    CLC, STC, CMC, CLD, STD, LAHF, SAHF, PUSHF, POPF,
    // strings (size from operandSize; rep/repne from prefixes)
    MOVS, STOS, LODS, CMPS, SCAS,
    // hints and fences
    NOP, PAUSE, PREFETCH, LFENCE, MFENCE, SFENCE, ENDBR64, UD2, INT3, INT,
    // system
    CLI, STI, HLT, SWAPGS, SYSCALL, SYSRET, IRET, CPUID, RDTSC, RDTSCP, RDMSR, WRMSR, RDPMC,
    IN, OUT, INS, OUTS, INVLPG, INVPCID, CLAC, STAC, LGDT, LIDT, SGDT, SIDT, LLDT, LTR, STR, SLDT,
    MOV_CR, MOV_DR, WBINVD, CLTS, XGETBV, XSETBV, RDRAND, RDSEED, RDPID, VERW, LSL, CLFLUSH,
    // SSE / x87 state
    FXSAVE, FXRSTOR, XSAVE, XSAVEOPT, XSAVEC, XSAVES, XRSTOR, XRSTORS, FNINIT, FWAIT, LDMXCSR, STMXCSR,
    MOVDQU, MOVDQA, MOVAPS, MOVUPS, MOVD, MOVQ, PXOR, XORPS;

    /** Lower-case name, as objdump prints the non-conditional forms. */
    public String asm() { return name().toLowerCase(Locale.ROOT); }
}
