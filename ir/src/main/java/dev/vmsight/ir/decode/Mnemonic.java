package dev.vmsight.ir.decode;

import java.util.Locale;

/**
 * What a decoded instruction does. Names follow objdump's Intel syntax where one name maps to
 * one operation; condition-code families are one constant each ({@link #JCC}, {@link #SETCC},
 * {@link #CMOVCC}) with the condition on the {@link Instruction}. The decoder owns this list;
 * the lifter must handle every constant (exhaustive switch, no default).
 *
 * <p>Constants are grouped by {@link Category}; new constants are only ever appended to a
 * group, never renamed.
 */
public enum Mnemonic {
    // data movement
    MOV, MOVZX, MOVSX, MOVSXD, MOVABS, PUSH, POP, LEA, XCHG, BSWAP, CBW, CWDE, CDQE, CWD, CDQ, CQO,
    MOVBE, XLAT, MOVNTI, MOVDIRI,
    // arithmetic
    ADD, ADC, SUB, SBB, INC, DEC, NEG, NOT, CMP, MUL, IMUL, DIV, IDIV, XADD, CMPXCHG, CMPXCHG8B, CMPXCHG16B,
    ADCX, ADOX, MULX, CRC32,
    // logic
    AND, OR, XOR, TEST, ANDN,
    // shifts and rotates
    SHL, SHR, SAR, ROL, ROR, RCL, RCR, SHLD, SHRD, SHLX, SHRX, SARX, RORX,
    // bit operations
    BT, BTS, BTR, BTC, BSF, BSR, TZCNT, LZCNT, POPCNT, BLSR, BLSMSK, BLSI, BZHI, BEXTR, PDEP, PEXT,
    // conditional
    JCC, SETCC, CMOVCC,
    // control flow
    JMP, CALL, RET, LEAVE, ENTER, JRCXZ, JECXZ, LOOP, LOOPE, LOOPNE, RETF, CALLF, JMPF,
    // flags
    CLC, STC, CMC, CLD, STD, LAHF, SAHF, PUSHF, POPF,
    // strings (size from operandSize; rep/repne from prefixes)
    MOVS, STOS, LODS, CMPS, SCAS,
    // hints and fences
    NOP, PAUSE, PREFETCH, LFENCE, MFENCE, SFENCE, ENDBR64, UD2, INT3, INT,
    PREFETCHW, PREFETCHNTA, PREFETCHT0, PREFETCHT1, PREFETCHT2, UD0, UD1, INT1, PREFETCHWT1, CLDEMOTE,
    // system
    CLI, STI, HLT, SWAPGS, SYSCALL, SYSRET, IRET, CPUID, RDTSC, RDTSCP, RDMSR, WRMSR, RDPMC,
    IN, OUT, INS, OUTS, INVLPG, INVPCID, CLAC, STAC, LGDT, LIDT, SGDT, SIDT, LLDT, LTR, STR, SLDT,
    MOV_CR, MOV_DR, WBINVD, CLTS, XGETBV, XSETBV, RDRAND, RDSEED, RDPID, VERW, LSL, CLFLUSH,
    VERR, LAR, SMSW, LMSW, INVD, WBNOINVD, SYSENTER, SYSEXIT, LSS, LFS, LGS, MOV_SEG,
    RDFSBASE, RDGSBASE, WRFSBASE, WRGSBASE, CLFLUSHOPT, CLWB, MONITOR, MWAIT, MONITORX, MWAITX,
    RDPKRU, WRPKRU, SERIALIZE, ENCLS, VMCALL, VMMCALL, VMGEXIT, STGI, CLGI, PVALIDATE, RMPADJUST,
    TDCALL, TPAUSE, UMONITOR, UMWAIT, MOVDIR64B, ENQCMDS, GETSEC, RSM, XBEGIN, XABORT, XEND, XTEST,
    // SSE / x87 state
    FXSAVE, FXRSTOR, XSAVE, XSAVEOPT, XSAVEC, XSAVES, XRSTOR, XRSTORS, FNINIT, FWAIT, LDMXCSR, STMXCSR,
    MOVDQU, MOVDQA, MOVAPS, MOVUPS, MOVD, MOVQ, PXOR, XORPS,
    FNCLEX, FNSTSW, FNSTCW, FLDCW, FNSAVE, FRSTOR, FNSTENV, FLDENV, FILD, EMMS,
    PADDD, PADDQ, PAND, POR, PUNPCKLDQ, PUNPCKLQDQ, PSHUFD, PSHUFB, PSRLD, PSLLD, MOVNTDQ;

    /** Which instruction class a mnemonic belongs to (the objdump oracle reports coverage per class). */
    public enum Category { GENERAL_PURPOSE, SYSTEM, SSE_X87 }

    /** Lower-case name, as objdump prints the non-conditional forms. */
    public String asm() { return name().toLowerCase(Locale.ROOT); }

    public Category category() {
        int o = ordinal();
        if (o >= FXSAVE.ordinal()) {
            return Category.SSE_X87;
        }
        if (o >= CLI.ordinal()) {
            return Category.SYSTEM;
        }
        return Category.GENERAL_PURPOSE;
    }
}
