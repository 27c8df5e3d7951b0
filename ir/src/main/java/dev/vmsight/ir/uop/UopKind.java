package dev.vmsight.ir.uop;

import java.util.EnumSet;
import java.util.Set;

import static dev.vmsight.ir.uop.UopKind.Flag.*;

/**
 * The µop table: every µop kind once, with its number of outputs, inputs and immediates and
 * its behaviour flags. Operands are always listed outputs, then inputs, then immediates. The
 * slicer, merger, interpreter and JIT read this table rather than switching on kinds where they
 * can; where they must switch, they switch exhaustively. Each row's equation is in ir/README.md.
 * Values are 64-bit; {@code size} (on the µop) is the operand width in bytes that width-aware
 * kinds use; {@code m} below is the all-ones mask of that width.
 */
public enum UopKind {
    // ---- data movement
    /** out = imm0 */
    CONST(1, 0, 1),
    /** out = in0 */
    MOV(1, 1, 0),
    /** out = in0 & m */
    ZEXT(1, 1, 0),
    /** out = in0 sign-extended from size to 64 bits */
    SEXT(1, 1, 0),
    /** out = (in0 & ~(m << imm0)) | ((in1 & m) << imm0): a partial-register write (keeps the old value) */
    MERGE(1, 2, 1),
    /** out = (in0 >>> imm0) & m */
    EXTRACT(1, 1, 1),
    // ---- 64-bit arithmetic and logic (results not masked; width-aware kinds say so)
    ADD(1, 2, 0), SUB(1, 2, 0), AND(1, 2, 0), OR(1, 2, 0), XOR(1, 2, 0),
    NOT(1, 1, 0), NEG(1, 1, 0),
    /** out = in0 << (in1 & 63) */
    SHL(1, 2, 0),
    /** out = in0 >>> (in1 & 63) */
    SHR(1, 2, 0),
    /** out = in0 >> (in1 & 63) (arithmetic) */
    SAR(1, 2, 0),
    /** out = rotate-left of the size-bit value in0 by in1 mod (8*size), zero-extended */
    ROL(1, 2, 0),
    /** out = rotate-right, likewise */
    ROR(1, 2, 0),
    /** out = low 64 bits of in0 * in1 */
    MUL(1, 2, 0),
    /** out = high 64 bits of the unsigned 128-bit product in0 * in1 */
    UMULH(1, 2, 0),
    /** out = high 64 bits of the signed 128-bit product in0 * in1 */
    SMULH(1, 2, 0),
    /**
     * (out0, out1) = (quotient, remainder) of the unsigned 2*size-bit dividend in0:in1 (high:low,
     * each masked to m) by in2 & m; raises #DE when the divisor is 0 or the quotient exceeds m.
     */
    DIVU(2, 3, 0, FAULTS),
    /** the signed counterpart of DIVU (truncating, remainder has the dividend's sign); #DE likewise */
    DIVS(2, 3, 0, FAULTS),
    /** out = in0 != 0 ? in1 : in2 */
    SELECT(1, 3, 0),
    /** out = in0 == in1 ? 1 : 0 */
    EQ(1, 2, 0),
    /** out = (in0 >>> (in1 & 63)) & 1 */
    BIT(1, 2, 0),
    /** out = byte-reversed size-byte value of in0 */
    BSWAP(1, 1, 0),
    /** out = in0 & m == 0 ? in1 : index of the lowest set bit of in0 & m (destination kept on zero, as CPUs do) */
    BSF(1, 2, 0),
    /** out = in0 & m == 0 ? in1 : index of the highest set bit of in0 & m */
    BSR(1, 2, 0),
    /** out = number of trailing zero bits of in0 & m (8*size when zero) */
    TZCNT(1, 1, 0),
    /** out = number of leading zero bits of in0 & m within 8*size bits */
    LZCNT(1, 1, 0),
    /** out = number of set bits of in0 & m */
    POPCNT(1, 1, 0),
    // ---- flag computations (each output is one 1-bit flag location or temporary)
    /** out = 1 if in0 & m == 0 */
    ZERO(1, 1, 0),
    /** out = bit 8*size-1 of in0 */
    SIGN(1, 1, 0),
    /** out = 1 if the low byte of in0 has an even number of set bits */
    PARITY(1, 1, 0),
    /** out = bit 4 of (in0 ^ in1 ^ in2): the auxiliary carry of an add/sub a, b giving r */
    AUX(1, 3, 0),
    /** out = carry out of bit 8*size-1 of (in0 & m) + (in1 & m) + in2 */
    CARRY_ADD(1, 3, 0),
    /** out = signed overflow of a + b = r at width size: sign(a) == sign(b) != sign(r) */
    OVERFLOW_ADD(1, 3, 0),
    /** out = borrow of (in0 & m) - (in1 & m) - in2, i.e. (in0 & m) < (in1 & m) + in2 unsigned */
    BORROW_SUB(1, 3, 0),
    /** out = signed overflow of a - b = r at width size: sign(a) != sign(b) and sign(r) != sign(a) */
    OVERFLOW_SUB(1, 3, 0),
    // ---- memory (address already includes any FS/GS base; the segment is recorded for the tracer)
    /** out = zero-extended size-byte little-endian read at in0 */
    LOAD(1, 1, 0, MEMORY, READS),
    /** size-byte write of in1 at address in0 */
    STORE(0, 2, 0, MEMORY, WRITES, SIDE_EFFECT),
    // ---- control: a block-ending µop sets RIP; without one RIP becomes the next instruction
    /** RIP = imm0 */
    JUMP(0, 0, 1, BLOCK_END),
    /** RIP = in0 != 0 ? imm0 : imm1 */
    BRANCH(0, 1, 2, BLOCK_END, COND_BRANCH),
    /** if in0 != 0: RIP = imm0 and the instruction's remaining µops are skipped (rep termination) */
    EXIT_IF(0, 1, 1, COND_BRANCH, SIDE_EFFECT),
    /** RIP = in0 */
    JUMP_IND(0, 1, 0, BLOCK_END, INDIRECT),
    /** RIP = imm0 (the return address was pushed by the µops before it) */
    CALL(0, 0, 1, BLOCK_END),
    /** RIP = in0 (the return address was pushed by the µops before it) */
    CALL_IND(0, 1, 0, BLOCK_END, INDIRECT),
    /** RIP = in0 (popped by the µops before it) */
    RET(0, 1, 0, BLOCK_END, INDIRECT),
    /** raise exception vector imm0 with error code imm1 (#UD, #BP, int n...) */
    FAULT(0, 0, 2, BLOCK_END, SIDE_EFFECT, FAULTS),
    /** fence or hint imm0 (the Mnemonic ordinal): no architectural effect, kept for ordering */
    FENCE(0, 0, 1, SIDE_EFFECT),
    // ---- environment: values from outside the machine state, taken from an Environment
    /** out = time-stamp counter */
    RDTSC(1, 0, 0, ENV),
    /** (out0..out3) = cpuid(leaf in0, subleaf in1) as eax, ebx, ecx, edx */
    CPUID(4, 2, 0, ENV),
    /** out = a random size-byte value */
    RDRAND(1, 0, 0, ENV, SIDE_EFFECT),
    /**
     * out = PKRU, the protection-key rights of user pages (from the Environment: the machine state
     * does not hold it; training learns it from QEMU at each execution, as it does rdtsc)
     */
    RDPKRU(1, 0, 0, ENV),
    /** out = MSR in0: known MSRs from the machine state, others from the Environment; #GP outside ring 0 */
    RDMSR(1, 1, 0, ENV, SYSTEM, FAULTS),
    /** out = size-byte read of I/O port in0 */
    PORT_IN(1, 1, 0, ENV, SYSTEM, SIDE_EFFECT, FAULTS),
    // ---- system: effects on privileged state, executed by the interpreter's SystemLayer
    /** MSR in0 = in1 (the known MSRs are machine-state locations) */
    WRMSR(0, 2, 0, SYSTEM, SIDE_EFFECT, FAULTS),
    /** write in1 to I/O port in0 */
    PORT_OUT(0, 2, 0, SYSTEM, SIDE_EFFECT, FAULTS),
    /** #GP(0) unless CPL == 0 */
    PRIVILEGED(0, 0, 0, SYSTEM, SIDE_EFFECT, FAULTS),
    /**
     * out (a control-register or segment-selector location) = in0, then the SystemLayer gives the
     * write its effect (CR: TLB flush, mode change; selector: descriptor load, FS/GS base)
     */
    SYSREG_WRITE(1, 1, 0, SYSTEM, SIDE_EFFECT),
    /** invalidate the TLB entry of address in0 */
    INVLPG(0, 1, 0, SYSTEM, SIDE_EFFECT),
    /** syscall; imm0 is the return address. Reads and writes state as the SDM says (OPAQUE here) */
    SYSCALL(0, 0, 1, SYSTEM, BLOCK_END, OPAQUE),
    /** sysretq */
    SYSRET(0, 0, 0, SYSTEM, BLOCK_END, OPAQUE, FAULTS),
    /** iretq */
    IRET(0, 0, 0, SYSTEM, BLOCK_END, OPAQUE, FAULTS),
    /** hlt; imm0 is the next instruction */
    HLT(0, 0, 1, SYSTEM, BLOCK_END, SIDE_EFFECT),
    /**
     * An opaque system instruction over memory at in0 (fxsave, xsave, xrstor, lgdt, ...); imm0 is
     * its Mnemonic ordinal. Executed by the SystemLayer.
     */
    SYSTEM_OP(0, 1, 1, SYSTEM, MEMORY, SIDE_EFFECT, OPAQUE, FAULTS);

    /** Behaviour flags of a µop kind. */
    public enum Flag {
        /** must never be removed by slicing or optimisation */
        SIDE_EFFECT,
        /** ends a basic block: sets RIP */
        BLOCK_END,
        /** the next RIP depends on an input */
        COND_BRANCH,
        /** the next RIP is an input value */
        INDIRECT,
        /** touches guest memory */
        MEMORY,
        READS,
        WRITES,
        /** takes a value from the Environment (not derivable from the machine state) */
        ENV,
        /** privileged / system half; executed by the SystemLayer */
        SYSTEM,
        /** may raise an exception */
        FAULTS,
        /** reads and writes machine state beyond its operands (a slicing barrier) */
        OPAQUE
    }

    private final int outputs;
    private final int inputs;
    private final int immediates;
    private final Set<Flag> flags;

    UopKind(int outputs, int inputs, int immediates, Flag... flags) {
        this.outputs = outputs;
        this.inputs = inputs;
        this.immediates = immediates;
        EnumSet<Flag> set = EnumSet.noneOf(Flag.class);
        set.addAll(java.util.Arrays.asList(flags));
        this.flags = java.util.Collections.unmodifiableSet(set);
    }

    public int outputs() { return outputs; }

    public int inputs() { return inputs; }

    public int immediates() { return immediates; }

    public Set<Flag> flags() { return flags; }

    public boolean has(Flag flag) { return flags.contains(flag); }
}
