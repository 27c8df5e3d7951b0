package dev.vmsight.ir.lift;

import dev.vmsight.ir.decode.Instruction;
import dev.vmsight.ir.decode.Mnemonic;
import dev.vmsight.ir.decode.Operand;
import dev.vmsight.ir.decode.Register;
import dev.vmsight.ir.uop.LiftedInstruction;
import dev.vmsight.ir.uop.Loc;
import dev.vmsight.ir.uop.UopKind;

import java.util.List;

import static dev.vmsight.ir.uop.UopKind.*;

/**
 * Lifts one decoded x86-64 instruction to µops, with flags as the Intel SDM defines them.
 * Conventions (see ir/README.md): µops that may fault (loads, division) come before the
 * instruction's architectural writes; flags are computed before the destination is written;
 * each status flag is written separately; undefined flags get the documented model value.
 * Deterministic: the same instruction always gives the same µops (sites are stable).
 */
public final class Lifter {
    private Lifter() { }

    private static final int RAX = 0, RCX = 1, RDX = 2, RBX = 3, RSP = 4, RBP = 5, RSI = 6, RDI = 7;

    public static LiftedInstruction lift(Instruction insn) {
        Emitter e = new Emitter(insn);
        new Lifting(e, insn).run();
        return new LiftedInstruction(insn, e.uops);
    }

    /** The per-instruction lifting (one switch over every mnemonic, no default). */
    private static final class Lifting {
        private final Emitter e;
        private final Instruction insn;
        private final int n;
        private final List<Operand> ops;

        Lifting(Emitter e, Instruction insn) {
            this.e = e;
            this.insn = insn;
            this.n = insn.operandSize();
            this.ops = insn.operands();
        }

        private LiftException unsupported(String why) { return new LiftException(insn, why); }

        private Operand op(int i) {
            if (i >= ops.size()) {
                throw unsupported("expected at least " + (i + 1) + " operands, decoder gave " + ops.size());
            }
            return ops.get(i);
        }

        private Register acc(int size) { return Register.gpr(RAX, size); }

        void run() {
            // a switch expression, so that a new Mnemonic is a compile error here
            Void done = switch (insn.mnemonic()) {
                case MOV, MOVABS -> {
                    mov();
                    yield null;
                }
                case MOVZX -> {
                    movExtend(false);
                    yield null;
                }
                case MOVSX, MOVSXD -> {
                    movExtend(true);
                    yield null;
                }
                case LEA -> {
                    Operand.Mem m = (Operand.Mem) op(1);
                    e.writeReg(((Operand.Reg) op(0)).register(), e.address(stripSegment(m)));
                    yield null;
                }
                case PUSH -> {
                    push();
                    yield null;
                }
                case POP -> {
                    pop();
                    yield null;
                }
                case XCHG -> {
                    xchg();
                    yield null;
                }
                case BSWAP -> {
                    Register r = reg(0);
                    if (r.size() < 4) {
                        throw unsupported("bswap of a 16-bit register is undefined");
                    }
                    e.writeReg(r, e.sized(UopKind.BSWAP, r.size(), e.readReg(r)));
                    yield null;
                }
                case MOVBE -> {
                    Emitter.Place d = e.place(op(0));
                    int v = e.source(op(1), n);
                    e.write(d, e.sized(UopKind.BSWAP, n, v), n);
                    yield null;
                }
                case CBW, CWDE, CDQE -> {
                    int half = n / 2;
                    e.writeReg(acc(n), e.sized(SEXT, half, e.readReg(acc(half))));
                    yield null;
                }
                case CWD, CDQ, CQO -> {
                    int s = e.op(SAR, e.sized(SEXT, n, e.readReg(acc(n))), e.constant(63));
                    e.writeReg(Register.gpr(RDX, n), s);
                    yield null;
                }
                case ADD, ADC, SUB, SBB, CMP -> {
                    arith();
                    yield null;
                }
                case AND, OR, XOR, TEST -> {
                    logic();
                    yield null;
                }
                case INC, DEC -> {
                    incDec();
                    yield null;
                }
                case NEG -> {
                    Emitter.Place d = e.place(op(0));
                    int a = e.read(d);
                    int zero = e.constant(0);
                    int r = e.op(UopKind.NEG, a);
                    e.flagsSub(zero, a, zero, r, n);
                    e.write(d, r);
                    yield null;
                }
                case NOT -> {
                    Emitter.Place d = e.place(op(0));
                    e.write(d, e.op(UopKind.NOT, e.read(d)));
                    yield null;
                }
                case MUL -> {
                    mulWide(false);
                    yield null;
                }
                case IMUL -> {
                    if (ops.size() == 1) {
                        mulWide(true);
                    } else {
                        imulTruncating();
                    }
                    yield null;
                }
                case DIV -> {
                    divide(false);
                    yield null;
                }
                case IDIV -> {
                    divide(true);
                    yield null;
                }
                case XADD -> {
                    Emitter.Place d = e.place(op(0));
                    Register s = reg(1);
                    int a = e.copy(e.read(d));
                    int b = e.copy(e.readReg(s));
                    int r = e.op(UopKind.ADD, a, b);
                    e.flagsAdd(a, b, e.constant(0), r, n);
                    e.writeReg(s, a);
                    e.write(d, r);
                    yield null;
                }
                case CMPXCHG -> {
                    cmpxchg();
                    yield null;
                }
                case CMPXCHG8B -> {
                    cmpxchgDouble(4);
                    yield null;
                }
                case CMPXCHG16B -> {
                    cmpxchgDouble(8);
                    yield null;
                }
                case SHL, SHR, SAR, ROL, ROR -> {
                    shift();
                    yield null;
                }
                case RCL, RCR -> {
                    rotateThroughCarry();
                    yield null;
                }
                case SHLD, SHRD -> {
                    doubleShift();
                    yield null;
                }
                case BT, BTS, BTR, BTC -> {
                    bitTest();
                    yield null;
                }
                case BSF, BSR -> {
                    bitScan();
                    yield null;
                }
                case TZCNT, LZCNT -> {
                    Emitter.Place d = e.place(op(0));
                    int src = e.copy(e.source(op(1), n));
                    int r = e.sized(insn.mnemonic() == Mnemonic.TZCNT ? UopKind.TZCNT : UopKind.LZCNT, n, src);
                    e.to(Loc.CF, ZERO, n, src);
                    e.to(Loc.ZF, ZERO, n, r);
                    e.write(d, r);
                    yield null;
                }
                case POPCNT -> {
                    Emitter.Place d = e.place(op(0));
                    int src = e.copy(e.source(op(1), n));
                    int r = e.sized(UopKind.POPCNT, n, src);
                    for (int f : new int[]{Loc.CF, Loc.OF, Loc.SF, Loc.AF, Loc.PF}) {
                        e.setConst(f, 0);
                    }
                    e.to(Loc.ZF, ZERO, n, src);
                    e.write(d, r);
                    yield null;
                }
                case JCC -> {
                    e.effect(BRANCH, 8, new int[]{e.condition(insn.condition())}, target(), insn.nextAddress());
                    yield null;
                }
                case SETCC -> {
                    e.write(e.place(op(0)), e.condition(insn.condition()), 1);
                    yield null;
                }
                case CMOVCC -> {
                    Register d = reg(0);
                    int src = e.source(op(1), n);
                    int c = e.condition(insn.condition());
                    e.writeReg(d, e.op(SELECT, c, src, e.readReg(d)));
                    yield null;
                }
                case JMP -> {
                    if (op(0) instanceof Operand.Rel r) {
                        e.effect(JUMP, 8, new int[0], r.target());
                    } else {
                        e.effect(JUMP_IND, 8, new int[]{e.source(op(0), 8)});
                    }
                    yield null;
                }
                case CALL -> {
                    if (op(0) instanceof Operand.Rel r) {
                        e.push(e.constant(insn.nextAddress()), 8);
                        e.effect(CALL, 8, new int[0], r.target());
                    } else {
                        int t = e.copy(e.source(op(0), 8));
                        e.push(e.constant(insn.nextAddress()), 8);
                        e.effect(CALL_IND, 8, new int[]{t});
                    }
                    yield null;
                }
                case RET -> {
                    int t = e.pop(8);
                    if (!ops.isEmpty()) {
                        e.to(Loc.GPR0 + RSP, ADD, 8, Loc.GPR0 + RSP, e.constant(((Operand.Imm) op(0)).value() & 0xFFFF));
                    }
                    e.effect(UopKind.RET, 8, new int[]{t});
                    yield null;
                }
                case LEAVE -> {
                    int sz = n == 2 ? 2 : 8;
                    int t = e.load(Loc.GPR0 + RBP, sz, Register.SS);
                    e.to(Loc.GPR0 + RSP, ADD, 8, Loc.GPR0 + RBP, e.constant(sz));
                    e.writeReg(Register.gpr(RBP, sz), t);
                    yield null;
                }
                case ENTER -> {
                    long level = ((Operand.Imm) op(1)).value() & 31;
                    if (level != 0) {
                        throw unsupported("enter with nesting level " + level + " is not lifted");
                    }
                    e.push(Loc.GPR0 + RBP, 8);
                    e.to(Loc.GPR0 + RBP, MOV, 8, Loc.GPR0 + RSP);
                    e.to(Loc.GPR0 + RSP, SUB, 8, Loc.GPR0 + RSP, e.constant(((Operand.Imm) op(0)).value() & 0xFFFF));
                    yield null;
                }
                case JRCXZ, JECXZ -> {
                    int c = e.sized(ZERO, insn.mnemonic() == Mnemonic.JRCXZ ? 8 : 4, Loc.GPR0 + RCX);
                    e.effect(BRANCH, 8, new int[]{c}, target(), insn.nextAddress());
                    yield null;
                }
                case LOOP, LOOPE, LOOPNE -> {
                    e.to(Loc.GPR0 + RCX, SUB, 8, Loc.GPR0 + RCX, e.constant(1));
                    int c = e.not1(e.sized(ZERO, 8, Loc.GPR0 + RCX));
                    if (insn.mnemonic() == Mnemonic.LOOPE) {
                        c = e.op(UopKind.AND, c, Loc.ZF);
                    } else if (insn.mnemonic() == Mnemonic.LOOPNE) {
                        c = e.op(UopKind.AND, c, e.not1(Loc.ZF));
                    }
                    e.effect(BRANCH, 8, new int[]{c}, target(), insn.nextAddress());
                    yield null;
                }
                case CLC -> {
                    e.setConst(Loc.CF, 0);
                    yield null;
                }
                case STC -> {
                    e.setConst(Loc.CF, 1);
                    yield null;
                }
                case CMC -> {
                    e.to(Loc.CF, UopKind.XOR, 8, Loc.CF, e.constant(1));
                    yield null;
                }
                case CLD -> {
                    e.setConst(Loc.DF, 0);
                    yield null;
                }
                case STD -> {
                    e.setConst(Loc.DF, 1);
                    yield null;
                }
                case LAHF -> {
                    lahf();
                    yield null;
                }
                case SAHF -> {
                    int ah = e.readReg(Register.AH);
                    int[] flags = {Loc.CF, Loc.PF, Loc.AF, Loc.ZF, Loc.SF};
                    int[] bits = {0, 2, 4, 6, 7};
                    for (int i = 0; i < flags.length; i++) {
                        e.to(flags[i], BIT, 8, ah, e.constant(bits[i]));
                    }
                    yield null;
                }
                case PUSHF -> {
                    e.push(rflagsImage(), n == 2 ? 2 : 8);
                    yield null;
                }
                case POPF -> {
                    popf();
                    yield null;
                }
                case MOVS, STOS, LODS, CMPS, SCAS -> {
                    string();
                    yield null;
                }
                case NOP, ENDBR64 -> { yield null; }
                case PAUSE, PREFETCH, LFENCE, MFENCE, SFENCE, FWAIT, CLFLUSH -> {
                    e.effect(FENCE, 8, new int[0], insn.mnemonic().ordinal());
                    yield null;
                }
                case UD2 -> {
                    e.effect(FAULT, 8, new int[0], 6, 0);
                    yield null;
                }
                case INT3 -> {
                    e.effect(FAULT, 8, new int[0], 3, 0);
                    yield null;
                }
                case INT -> {
                    e.effect(FAULT, 8, new int[0], ((Operand.Imm) op(0)).value() & 0xFF, 0);
                    yield null;
                }
                case CLI, STI -> {
                    e.effect(PRIVILEGED, 8, new int[0]);
                    e.setConst(Loc.IF, insn.mnemonic() == Mnemonic.STI ? 1 : 0);
                    yield null;
                }
                case CLAC, STAC -> {
                    e.effect(PRIVILEGED, 8, new int[0]);
                    e.setConst(Loc.AC, insn.mnemonic() == Mnemonic.STAC ? 1 : 0);
                    yield null;
                }
                case HLT -> {
                    e.effect(PRIVILEGED, 8, new int[0]);
                    e.effect(UopKind.HLT, 8, new int[0], insn.nextAddress());
                    yield null;
                }
                case SWAPGS -> {
                    e.effect(PRIVILEGED, 8, new int[0]);
                    int t = e.copy(Loc.GS_BASE);
                    e.to(Loc.GS_BASE, MOV, 8, Loc.KERNEL_GS_BASE);
                    e.to(Loc.KERNEL_GS_BASE, MOV, 8, t);
                    yield null;
                }
                case SYSCALL -> {
                    e.effect(UopKind.SYSCALL, 8, new int[0], insn.nextAddress());
                    yield null;
                }
                case SYSRET -> {
                    e.effect(PRIVILEGED, 8, new int[0]);
                    e.effect(UopKind.SYSRET, 8, new int[0]);
                    yield null;
                }
                case IRET -> {
                    e.effect(UopKind.IRET, 8, new int[0]);
                    yield null;
                }
                case CPUID -> {
                    int[] out = {e.temp(), e.temp(), e.temp(), e.temp()};
                    e.raw(UopKind.CPUID, 8, null, out, new int[]{e.readReg(Register.EAX), e.readReg(Register.ECX)}, new long[0]);
                    e.writeReg(Register.EAX, out[0]);
                    e.writeReg(Register.EBX, out[1]);
                    e.writeReg(Register.ECX, out[2]);
                    e.writeReg(Register.EDX, out[3]);
                    yield null;
                }
                case RDTSC, RDTSCP -> {
                    int t = e.op(UopKind.RDTSC);
                    e.writeReg(Register.EAX, t);
                    e.writeReg(Register.EDX, e.op(UopKind.SHR, t, e.constant(32)));
                    if (insn.mnemonic() == Mnemonic.RDTSCP) {
                        e.writeReg(Register.ECX, Loc.TSC_AUX);
                    }
                    yield null;
                }
                case RDPKRU -> {
                    // #GP unless ecx = 0 is not modelled: Linux's rdpkru() zeroes ecx itself
                    e.writeReg(Register.EAX, e.op(UopKind.RDPKRU));
                    e.writeReg(Register.EDX, e.constant(0));
                    yield null;
                }
                case WRPKRU -> {
                    // PKRU is not machine state here (rdpkru asks the environment); the system layer checks ecx = edx = 0
                    e.effect(SYSTEM_OP, 8, new int[]{e.constant(0)}, insn.mnemonic().ordinal());
                    yield null;
                }
                case RDPID -> {
                    e.writeReg(reg(0).family(), e.sized(ZEXT, 4, Loc.TSC_AUX));
                    yield null;
                }
                case RDMSR -> {
                    int t = e.op(UopKind.RDMSR, e.readReg(Register.ECX));
                    e.writeReg(Register.EAX, t);
                    e.writeReg(Register.EDX, e.op(UopKind.SHR, t, e.constant(32)));
                    yield null;
                }
                case WRMSR -> {
                    int v = e.op(UopKind.OR, e.op(UopKind.SHL, e.readReg(Register.EDX), e.constant(32)), e.readReg(Register.EAX));
                    e.effect(UopKind.WRMSR, 8, new int[]{e.readReg(Register.ECX), v});
                    yield null;
                }
                case RDRAND, RDSEED -> {
                    Register d = reg(0);
                    e.writeReg(d, e.sized(UopKind.RDRAND, d.size()));
                    e.setConst(Loc.CF, 1);
                    for (int f : new int[]{Loc.OF, Loc.SF, Loc.ZF, Loc.AF, Loc.PF}) {
                        e.setConst(f, 0);
                    }
                    yield null;
                }
                case IN -> {
                    Register d = reg(0);
                    int port = op(1) instanceof Operand.Imm i ? e.constant(i.value() & 0xFF) : e.readReg(Register.DX);
                    e.writeReg(d, e.sized(PORT_IN, d.size(), port));
                    yield null;
                }
                case OUT -> {
                    Register s = reg(1);
                    int port = op(0) instanceof Operand.Imm i ? e.constant(i.value() & 0xFF) : e.readReg(Register.DX);
                    e.effect(PORT_OUT, s.size(), new int[]{port, e.readReg(s)});
                    yield null;
                }
                case INVLPG -> {
                    e.effect(PRIVILEGED, 8, new int[0]);
                    e.effect(UopKind.INVLPG, 8, new int[]{e.address((Operand.Mem) op(0))});
                    yield null;
                }
                case MOV_CR -> {
                    e.effect(PRIVILEGED, 8, new int[0]);
                    Register d = reg(0);
                    Register s = reg(1);
                    if (d.kind() == Register.Kind.CONTROL) {
                        e.raw(SYSREG_WRITE, 8, null, new int[]{e.crLoc(d)}, new int[]{e.readReg(s)}, new long[0]);
                    } else {
                        e.writeReg(d, e.crLoc(s));
                    }
                    yield null;
                }
                case FXSAVE, FXRSTOR, XSAVE, XSAVEOPT, XSAVEC, XSAVES, XRSTOR, XRSTORS, LGDT, LIDT, SGDT, SIDT -> {
                    if (insn.mnemonic() == Mnemonic.LGDT || insn.mnemonic() == Mnemonic.LIDT) {
                        e.effect(PRIVILEGED, 8, new int[0]);
                    }
                    e.effect(SYSTEM_OP, 8, new int[]{e.address((Operand.Mem) op(0))}, insn.mnemonic().ordinal());
                    yield null;
                }
                case INVPCID -> {
                    e.effect(PRIVILEGED, 8, new int[0]);
                    e.effect(SYSTEM_OP, 8, new int[]{e.address((Operand.Mem) op(1))}, insn.mnemonic().ordinal());
                    yield null;
                }
                case WBINVD, CLTS, FNINIT, XSETBV, VERW -> {
                    if (insn.mnemonic() != Mnemonic.FNINIT && insn.mnemonic() != Mnemonic.VERW) {
                        e.effect(PRIVILEGED, 8, new int[0]);
                    }
                    e.effect(SYSTEM_OP, 8, new int[]{e.constant(0)}, insn.mnemonic().ordinal());
                    yield null;
                }
                case LDMXCSR -> {
                    e.to(Loc.MXCSR, MOV, 8, e.load(e.address((Operand.Mem) op(0)), 4, null));
                    yield null;
                }
                case STMXCSR -> {
                    e.store(e.address((Operand.Mem) op(0)), 4, null, Loc.MXCSR);
                    yield null;
                }
                case MOVDQU, MOVDQA, MOVAPS, MOVUPS -> {
                    moveXmm();
                    yield null;
                }
                case MOVD, MOVQ -> {
                    moveXmmScalar();
                    yield null;
                }
                case PXOR, XORPS -> {
                    xmmLogic(UopKind.XOR);
                    yield null;
                }
                case XLAT -> {
                    // al = [seg:rbx + al]: the same address as a Mem operand [rbx + al], built by the emitter
                    Register seg = insn.prefixes().segment();
                    seg = seg == Register.FS || seg == Register.GS ? seg : null;
                    int a = e.op(UopKind.ADD, Loc.GPR0 + RBX, e.readReg(Register.AL));
                    if (seg != null) {
                        a = e.op(UopKind.ADD, a, seg == Register.FS ? Loc.FS_BASE : Loc.GS_BASE);
                    }
                    e.writeReg(Register.AL, e.load(a, 1, seg));
                    yield null;
                }
                case MOV_SEG -> {
                    Operand d = op(0);
                    if (d instanceof Operand.Reg r && r.register().kind() == Register.Kind.SEGMENT) {
                        int sel = e.sized(ZEXT, 2, e.source(op(1), 2));
                        if (r.register() == Register.CS) {
                            throw unsupported("mov to cs is invalid (#UD)");
                        }
                        e.raw(SYSREG_WRITE, 8, null, new int[]{Loc.SEL0 + r.register().number()}, new int[]{sel}, new long[0]);
                    } else {
                        Register s = reg(1);
                        int sel = Loc.SEL0 + s.number();
                        Emitter.Place p = e.place(d);
                        e.write(p, e.sized(ZEXT, 2, sel), p.isMemory() ? 2 : p.size());
                    }
                    yield null;
                }
                case MOVNTI, MOVDIRI -> {
                    mov();
                    yield null;
                }
                case ADCX, ADOX -> {
                    int flag = insn.mnemonic() == Mnemonic.ADCX ? Loc.CF : Loc.OF;
                    Register d = reg(0);
                    int a = e.readReg(d);
                    int b = e.source(op(1), n);
                    int r = e.op(UopKind.ADD, e.op(UopKind.ADD, a, b), flag);
                    e.to(flag, CARRY_ADD, n, a, b, flag);   // only this one flag changes
                    e.writeReg(d, r);
                    yield null;
                }
                case MULX -> {
                    Register hiReg = reg(0);
                    Register loReg = reg(1);
                    int src = e.source(op(2), n);
                    int a = e.readReg(Register.gpr(RDX, n));
                    int lo;
                    int hi;
                    if (n == 8) {
                        lo = e.op(UopKind.MUL, a, src);
                        hi = e.op(UMULH, a, src);
                    } else {
                        lo = e.op(UopKind.MUL, a, src);
                        hi = e.op(UopKind.SHR, lo, e.constant(32));
                    }
                    e.writeReg(loReg, lo);
                    e.writeReg(hiReg, hi);   // written last: if both name one register it gets the high half
                    yield null;
                }
                case ANDN -> {
                    int a = e.readReg(reg(1));
                    int b = e.source(op(2), n);
                    int r = e.op(UopKind.AND, e.op(UopKind.NOT, a), b);
                    e.flagsLogic(r, n);   // AF, PF undefined: AF = 0, PF computed
                    e.writeReg(reg(0), r);
                    yield null;
                }
                case SHLX, SHRX, SARX -> {
                    int a = e.source(op(1), n);
                    int c = e.op(UopKind.AND, e.readReg(reg(2)), e.constant(n == 8 ? 63 : 31));
                    int r = switch (insn.mnemonic()) {
                        case SHLX -> e.op(UopKind.SHL, a, c);
                        case SHRX -> e.op(UopKind.SHR, a, c);
                        default -> e.op(UopKind.SAR, e.sized(SEXT, n, a), c);
                    };
                    e.writeReg(reg(0), r);   // no flags
                    yield null;
                }
                case RORX -> {
                    int a = e.source(op(1), n);
                    e.writeReg(reg(0), e.sized(UopKind.ROR, n, a, e.constant(((Operand.Imm) op(2)).value())));
                    yield null;
                }
                case BLSR, BLSMSK, BLSI -> {
                    int src = e.copy(e.source(op(1), n));
                    int r = switch (insn.mnemonic()) {
                        case BLSR -> e.op(UopKind.AND, src, e.op(UopKind.SUB, src, e.constant(1)));
                        case BLSMSK -> e.op(UopKind.XOR, src, e.op(UopKind.SUB, src, e.constant(1)));
                        default -> e.op(UopKind.AND, src, e.op(UopKind.NEG, src));
                    };
                    int srcZero = e.sized(ZERO, n, src);
                    e.to(Loc.CF, MOV, 8, insn.mnemonic() == Mnemonic.BLSI ? e.not1(srcZero) : srcZero);
                    e.setConst(Loc.OF, 0);
                    e.to(Loc.ZF, ZERO, n, r);
                    e.to(Loc.SF, SIGN, n, r);   // AF, PF undefined: kept unchanged
                    e.writeReg(reg(0), r);
                    yield null;
                }
                case PREFETCHW, PREFETCHNTA, PREFETCHT0, PREFETCHT1, PREFETCHT2, PREFETCHWT1, CLDEMOTE, CLFLUSHOPT, CLWB,
                        SERIALIZE -> {
                    e.effect(FENCE, 8, new int[0], insn.mnemonic().ordinal());
                    yield null;
                }
                case UD0, UD1 -> {
                    e.effect(FAULT, 8, new int[0], 6, 0);
                    yield null;
                }
                case INT1 -> {
                    e.effect(FAULT, 8, new int[0], 1, 0);
                    yield null;
                }
                case RDFSBASE, RDGSBASE -> {
                    e.writeReg(reg(0), insn.mnemonic() == Mnemonic.RDFSBASE ? Loc.FS_BASE : Loc.GS_BASE);
                    yield null;
                }
                case WRFSBASE, WRGSBASE -> {
                    e.to(insn.mnemonic() == Mnemonic.WRFSBASE ? Loc.FS_BASE : Loc.GS_BASE, MOV, 8, e.readReg(reg(0)));
                    yield null;
                }
                case INVD, WBNOINVD -> {
                    e.effect(PRIVILEGED, 8, new int[0]);
                    e.effect(SYSTEM_OP, 8, new int[]{e.constant(0)}, insn.mnemonic().ordinal());
                    yield null;
                }
                case MOVNTDQ -> {
                    moveXmm();
                    yield null;
                }
                case PAND, POR -> {
                    xmmLogic(insn.mnemonic() == Mnemonic.PAND ? UopKind.AND : UopKind.OR);
                    yield null;
                }
                case CRC32, BZHI, BEXTR, PDEP, PEXT, RETF, CALLF, JMPF, VERR, LAR, SMSW, LMSW, SYSENTER, SYSEXIT,
                        LSS, LFS, LGS, MONITOR, MWAIT, MONITORX, MWAITX, ENCLS, VMCALL,
                        VMMCALL, VMGEXIT, STGI, CLGI, PVALIDATE, RMPADJUST, TDCALL, TPAUSE, UMONITOR, UMWAIT,
                        MOVDIR64B, ENQCMDS, GETSEC, RSM, XBEGIN, XABORT, XEND, XTEST, FNCLEX, FNSTSW, FNSTCW, FLDCW,
                        FNSAVE, FRSTOR, FNSTENV, FLDENV, FILD, EMMS, PADDD, PADDQ, PUNPCKLDQ, PUNPCKLQDQ, PSHUFD,
                        PSHUFB, PSRLD, PSLLD ->
                        throw unsupported("not lifted yet (no µop sequence defined for it)");
                case RDPMC, INS, OUTS, LLDT, LTR, STR, SLDT, MOV_DR, XGETBV, LSL ->
                        throw unsupported("not lifted yet (system instruction without a defined µop)");
            };
        }

        private Register reg(int i) {
            if (op(i) instanceof Operand.Reg r) {
                return r.register();
            }
            throw unsupported("operand " + i + " should be a register, got " + op(i));
        }

        private long target() {
            if (op(0) instanceof Operand.Rel r) {
                return r.target();
            }
            throw unsupported("expected a relative branch target");
        }

        private static Operand.Mem stripSegment(Operand.Mem m) {
            // lea computes the offset only: no segment base.
            return new Operand.Mem(null, m.base(), m.index(), m.scale(), m.disp(), m.size(), m.addressSize());
        }

        private int xmm(Register r) {
            if (r.kind() != Register.Kind.XMM) {
                throw unsupported(r.asm() + " is not an xmm register");
            }
            return Loc.XMM0 + 2 * r.number();
        }

        // ---- data movement

        private void mov() {
            Operand d = op(0);
            Operand s = op(1);
            if (d instanceof Operand.Reg r && r.register().kind() == Register.Kind.SEGMENT
                    || s instanceof Operand.Reg q && q.register().kind() == Register.Kind.SEGMENT) {
                throw unsupported("mov to/from a segment register is not lifted yet");
            }
            int size = d.size() != 0 ? d.size() : n;
            Emitter.Place p = e.place(d);
            int v = e.source(s, size);
            e.write(p, v, size);
        }

        private void movExtend(boolean signed) {
            Register d = reg(0);
            int ss = op(1).size();
            int v = e.source(op(1), ss);
            e.writeReg(d, signed ? e.sized(SEXT, ss, v) : v);
        }

        private void push() {
            int size = n == 2 ? 2 : 8;
            Operand s = op(0);
            if (s instanceof Operand.Reg r && r.register().kind() == Register.Kind.SEGMENT) {
                throw unsupported("push of a segment register is not lifted yet");
            }
            int v = s instanceof Operand.Imm i ? e.constant(i.value()) : e.source(s, size);
            e.push(v, size);
        }

        private void pop() {
            int size = n == 2 ? 2 : 8;
            int v = e.pop(size);   // rsp is incremented before a memory destination's address is computed (SDM)
            Emitter.Place d = e.place(op(0));
            e.write(d, v, size);
        }

        private void xchg() {
            Emitter.Place a = e.place(op(0));
            Emitter.Place b = e.place(op(1));
            int va = e.copy(e.read(a));
            int vb = e.copy(e.read(b));
            e.write(a, vb);
            e.write(b, va);
        }

        // ---- arithmetic

        private void arith() {
            Mnemonic m = insn.mnemonic();
            Emitter.Place d = e.place(op(0));
            int a = e.read(d);
            int b = e.source(op(1), n);
            boolean add = m == Mnemonic.ADD || m == Mnemonic.ADC;
            int carry = (m == Mnemonic.ADC || m == Mnemonic.SBB) ? e.copy(Loc.CF) : e.constant(0);
            int r = add ? e.op(UopKind.ADD, e.op(UopKind.ADD, a, b), carry) : e.op(UopKind.SUB, e.op(UopKind.SUB, a, b), carry);
            if (add) {
                e.flagsAdd(a, b, carry, r, n);
            } else {
                e.flagsSub(a, b, carry, r, n);
            }
            if (m != Mnemonic.CMP) {
                e.write(d, r);
            }
        }

        private void logic() {
            Mnemonic m = insn.mnemonic();
            Emitter.Place d = e.place(op(0));
            int a = e.read(d);
            int b = e.source(op(1), n);
            UopKind k = switch (m) {
                case OR -> UopKind.OR;
                case XOR -> UopKind.XOR;
                default -> UopKind.AND;
            };
            int r = e.op(k, a, b);
            e.flagsLogic(r, n);
            if (m != Mnemonic.TEST) {
                e.write(d, r);
            }
        }

        private void incDec() {
            Emitter.Place d = e.place(op(0));
            int a = e.read(d);
            int one = e.constant(1);
            boolean inc = insn.mnemonic() == Mnemonic.INC;
            int r = e.op(inc ? UopKind.ADD : UopKind.SUB, a, one);
            // CF is kept.
            e.to(Loc.OF, inc ? OVERFLOW_ADD : OVERFLOW_SUB, n, a, one, r);
            e.to(Loc.AF, AUX, 8, a, one, r);
            e.flagsSzp(r, n);
            e.write(d, r);
        }

        /** mul/imul with one operand: rdx:rax (ah:al for bytes) = acc * src; CF = OF = upper half significant. */
        private void mulWide(boolean signed) {
            int src = e.source(op(0), n);
            int a = e.readReg(acc(n));
            int lo;
            int hi;
            int of;
            if (n == 8) {
                lo = e.op(UopKind.MUL, a, src);
                hi = e.op(signed ? SMULH : UMULH, a, src);
                of = signed ? e.not1(e.op(EQ, hi, e.op(SAR, lo, e.constant(63))))
                        : e.not1(e.sized(ZERO, 8, hi));
            } else {
                int x = signed ? e.sized(SEXT, n, a) : a;
                int y = signed ? e.sized(SEXT, n, src) : src;
                int p = e.op(UopKind.MUL, x, y);
                lo = p;
                hi = e.op(UopKind.SHR, p, e.constant(n * 8L));
                of = signed ? e.not1(e.op(EQ, p, e.sized(SEXT, n, p))) : e.not1(e.sized(ZERO, n, hi));
            }
            e.to(Loc.CF, MOV, 8, of);
            e.to(Loc.OF, MOV, 8, of);
            // SF, ZF, AF, PF are undefined after multiplication: kept unchanged (README)
            if (n == 1) {
                e.writeReg(Register.AX, lo);
            } else {
                e.writeReg(acc(n), lo);
                e.writeReg(Register.gpr(RDX, n), hi);
            }
        }

        /** imul r, r/m [, imm]: truncated product; CF = OF = the product did not fit. */
        private void imulTruncating() {
            Register d = reg(0);
            int a;
            int b;
            if (ops.size() == 3) {
                a = e.source(op(1), n);
                b = e.source(op(2), n);
            } else {
                a = e.readReg(d);
                b = e.source(op(1), n);
            }
            int lo;
            int of;
            if (n == 8) {
                lo = e.op(UopKind.MUL, a, b);
                int hi = e.op(SMULH, a, b);
                of = e.not1(e.op(EQ, hi, e.op(SAR, lo, e.constant(63))));
            } else {
                int p = e.op(UopKind.MUL, e.sized(SEXT, n, a), e.sized(SEXT, n, b));
                lo = p;
                of = e.not1(e.op(EQ, p, e.sized(SEXT, n, p)));
            }
            e.to(Loc.CF, MOV, 8, of);
            e.to(Loc.OF, MOV, 8, of);
            e.writeReg(d, lo);
        }

        private void divide(boolean signed) {
            int divisor = e.source(op(0), n);
            int hi;
            int lo;
            if (n == 1) {
                hi = e.readReg(Register.AH);
                lo = e.readReg(Register.AL);
            } else {
                hi = e.readReg(Register.gpr(RDX, n));
                lo = e.readReg(acc(n));
            }
            int q = e.temp();
            int r = e.temp();
            e.raw(signed ? DIVS : DIVU, n, null, new int[]{q, r}, new int[]{hi, lo, divisor}, new long[0]);
            // flags are undefined after division; we keep them unchanged (see README)
            if (n == 1) {
                e.writeReg(Register.AL, q);
                e.writeReg(Register.AH, r);
            } else {
                e.writeReg(acc(n), q);
                e.writeReg(Register.gpr(RDX, n), r);
            }
        }

        private void cmpxchg() {
            Emitter.Place d = e.place(op(0));
            Register s = reg(1);
            int old = e.copy(e.read(d));
            int accv = e.copy(e.readReg(acc(n)));
            int src = e.copy(e.readReg(s));
            int r = e.op(UopKind.SUB, accv, old);
            e.flagsSub(accv, old, e.constant(0), r, n);
            int eq = e.copy(Loc.ZF);
            if (d.isMemory()) {
                e.write(d, e.op(SELECT, eq, src, old));   // the destination is always written
            } else {
                int fam = Loc.GPR0 + d.reg().number();
                // equal: destination = source; else the destination keeps its value (not re-written)
                writeIf(eq, d.reg(), src, fam);
            }
            // not equal: accumulator = old destination; equal: accumulator is not written
            writeIf(e.not1(eq), acc(n), old, Loc.GPR0 + RAX);
        }

        /** Writes {@code value} to register view {@code r} only if {@code cond}; else the whole register is unchanged. */
        private void writeIf(int cond, Register r, int value, int family) {
            int before = e.copy(family);
            e.writeReg(r, value);
            e.to(family, SELECT, 8, cond, family, before);
        }

        private void cmpxchgDouble(int half) {
            Operand.Mem m = (Operand.Mem) op(0);
            int a = e.address(m);
            Register seg = e.segment(m);
            int lo = e.load(a, half, seg);
            int hiAddr = e.op(UopKind.ADD, a, e.constant(half));
            int hi = e.load(hiAddr, half, seg);
            int ax = e.readReg(acc(half));
            int dx = e.readReg(Register.gpr(RDX, half));
            int eq = e.op(UopKind.AND, e.op(EQ, lo, ax), e.op(EQ, hi, dx));
            int bx = e.readReg(Register.gpr(RBX, half));
            int cx = e.readReg(Register.gpr(RCX, half));
            e.store(a, half, seg, e.op(SELECT, eq, bx, lo));
            e.store(hiAddr, half, seg, e.op(SELECT, eq, cx, hi));
            e.to(Loc.ZF, MOV, 8, eq);
            int ne = e.not1(eq);
            writeIf(ne, acc(half), lo, Loc.GPR0 + RAX);
            writeIf(ne, Register.gpr(RDX, half), hi, Loc.GPR0 + RDX);
        }

        // ---- shifts and rotates

        /** The masked count and whether it is non-zero (a zero count leaves every flag unchanged). */
        private int[] count(int countOperand) {
            long mask = n == 8 ? 63 : 31;
            if (ops.size() <= countOperand || op(countOperand) instanceof Operand.Imm) {
                // an immediate count is masked now: a constant, and "non-zero" is known (no SELECTs)
                long k = ops.size() <= countOperand ? 1 : ((Operand.Imm) op(countOperand)).value() & mask;
                return new int[]{e.constant(k), k != 0 ? Emitter.ALWAYS : Emitter.NEVER};
            }
            int c = e.op(UopKind.AND, e.source(op(countOperand), 1), e.constant(mask));
            int nz = e.not1(e.sized(ZERO, 8, c));
            return new int[]{c, nz};
        }

        private void shift() {
            Mnemonic m = insn.mnemonic();
            Emitter.Place d = e.place(op(0));
            int a = e.read(d);
            int[] cnt = count(1);
            int c = cnt[0];
            int nz = cnt[1];
            if (nz == Emitter.NEVER) {   // a zero count changes nothing but still writes (zero-extends) a 32-bit register
                e.write(d, a);
                return;
            }
            int bits = n * 8;
            int cMinus1 = e.op(UopKind.SUB, c, e.constant(1));
            int r;
            int cf;
            int of;
            switch (m) {
                case SHL -> {
                    r = e.op(UopKind.SHL, a, c);
                    cf = e.op(BIT, a, e.op(UopKind.SUB, e.constant(bits), c));  // last bit shifted out
                    of = e.op(UopKind.XOR, e.sized(SIGN, n, r), cf);
                }
                case SHR -> {
                    r = e.op(UopKind.SHR, a, c);
                    cf = e.op(BIT, a, cMinus1);
                    // MSB before the last 1-bit step: MSB(a) for count 1 (SDM); 0 beyond, as the host CPU does
                    of = e.sized(SIGN, n, e.op(UopKind.SHR, a, cMinus1));
                }
                case SAR -> {
                    int sa = e.sized(SEXT, n, a);
                    r = e.op(UopKind.SAR, sa, c);
                    cf = e.op(BIT, sa, cMinus1);
                    of = e.constant(0);
                }
                case ROL -> {
                    r = e.sized(UopKind.ROL, n, a, c);
                    cf = e.op(UopKind.AND, r, e.constant(1));
                    of = e.op(UopKind.XOR, e.sized(SIGN, n, r), cf);
                }
                case ROR -> {
                    r = e.sized(UopKind.ROR, n, a, c);
                    cf = e.sized(SIGN, n, r);
                    of = e.op(UopKind.XOR, cf, e.op(BIT, r, e.constant(bits - 2)));
                }
                default -> throw unsupported("not a shift");
            }
            e.flagIf(nz, Loc.CF, cf);
            e.flagIf(nz, Loc.OF, of);   // defined for count 1 only; other counts: see README
            if (m == Mnemonic.SHL || m == Mnemonic.SHR || m == Mnemonic.SAR) {
                e.flagIf(nz, Loc.SF, e.sized(SIGN, n, r));
                e.flagIf(nz, Loc.ZF, e.sized(ZERO, n, r));
                e.flagIf(nz, Loc.PF, e.sized(PARITY, 1, r));
                e.flagIf(nz, Loc.AF, e.constant(1));   // undefined; set, as the host CPU (AMD EPYC) does
            }
            e.write(d, r);
        }

        /**
         * rcl/rcr rotate the (width+1)-bit value CF:dest by the masked count modulo width+1
         * (SDM: 9 for bytes, 17 for words). A rotation by 0 changes nothing, flags included.
         */
        private void rotateThroughCarry() {
            boolean left = insn.mnemonic() == Mnemonic.RCL;
            Emitter.Place d = e.place(op(0));
            int a = e.read(d);
            int c = count(1)[0];
            int bits = n * 8;
            if (n <= 2) {   // reduce modulo bits+1 by conditional subtraction (c < 32)
                int mod = e.constant(bits + 1);
                for (int k = 0; k < (n == 1 ? 3 : 1); k++) {
                    int below = e.sized(BORROW_SUB, 8, c, mod, e.constant(0));
                    c = e.op(SELECT, below, c, e.op(UopKind.SUB, c, mod));
                }
            }
            int nz = e.not1(e.sized(ZERO, 8, c));
            int one = e.op(EQ, c, e.constant(1));
            int zero = e.constant(0);
            int back = e.op(UopKind.SUB, e.constant(bits + 1), c);   // bits+1-c, in 1..bits when c != 0
            int carryIn = e.op(UopKind.SHL, Loc.CF, left ? e.op(UopKind.SUB, c, e.constant(1))
                    : e.op(UopKind.SUB, e.constant(bits), c));
            int r;
            int cf;
            if (left) {
                int wrapped = e.op(SELECT, one, zero, e.op(UopKind.SHR, a, back));
                r = e.op(UopKind.OR, e.op(UopKind.OR, e.op(UopKind.SHL, a, c), carryIn), wrapped);
                cf = e.op(BIT, a, e.op(UopKind.SUB, e.constant(bits), c));
            } else {
                int wrapped = e.op(SELECT, one, zero, e.op(UopKind.SHL, a, back));
                r = e.op(UopKind.OR, e.op(UopKind.OR, e.op(UopKind.SHR, a, c), carryIn), wrapped);
                cf = e.op(BIT, a, e.op(UopKind.SUB, c, e.constant(1)));
            }
            r = e.op(SELECT, nz, r, a);
            int msb = e.sized(SIGN, n, r);
            int of = left ? e.op(UopKind.XOR, msb, cf) : e.op(UopKind.XOR, msb, e.op(BIT, r, e.constant(bits - 2)));
            e.flagIf(nz, Loc.OF, of);   // defined for a count of 1 only (README)
            e.flagIf(nz, Loc.CF, cf);
            e.write(d, r);
        }

        private void doubleShift() {
            boolean left = insn.mnemonic() == Mnemonic.SHLD;
            Emitter.Place d = e.place(op(0));
            int a = e.read(d);
            int s = e.readReg(reg(1));
            int[] cnt = count(2);
            int c = cnt[0];
            int nz = cnt[1];
            if (nz == Emitter.NEVER) {
                e.write(d, a);
                return;
            }
            int bits = n * 8;
            int r;
            int cf;
            if (n == 8) {
                int back = e.op(UopKind.SUB, e.constant(64), c);
                r = left ? e.op(UopKind.OR, e.op(UopKind.SHL, a, c), e.op(UopKind.SHR, s, back))
                        : e.op(UopKind.OR, e.op(UopKind.SHR, a, c), e.op(UopKind.SHL, s, back));
                r = e.select(nz, r, a);
            } else if (left) {
                int t = e.op(UopKind.OR, e.op(UopKind.SHL, a, e.constant(bits)), s);
                r = e.op(UopKind.SHR, e.op(UopKind.SHL, t, c), e.constant(bits));
            } else {
                int t = e.op(UopKind.OR, e.op(UopKind.SHL, s, e.constant(bits)), a);
                r = e.op(UopKind.SHR, t, c);
            }
            cf = left ? e.op(BIT, a, e.op(UopKind.SUB, e.constant(bits), c))
                    : e.op(BIT, a, e.op(UopKind.SUB, c, e.constant(1)));
            // OF: MSB before the last 1-bit step XOR MSB after (the SDM's count-1 rule; the host does the
            // same for larger counts). Left: that bit is the one shifted out (CF). Right: bit bits+c-2 of src:dest.
            int prevMsb;
            if (left) {
                prevMsb = cf;
            } else if (n == 8) {
                prevMsb = e.op(SELECT, e.op(EQ, c, e.constant(1)), e.sized(SIGN, n, a),
                        e.op(BIT, s, e.op(UopKind.SUB, c, e.constant(2))));
            } else {
                int t = e.op(UopKind.OR, e.op(UopKind.SHL, s, e.constant(bits)), a);
                prevMsb = e.op(BIT, t, e.op(UopKind.ADD, c, e.constant(bits - 2)));
            }
            int of = e.op(UopKind.XOR, e.sized(SIGN, n, r), prevMsb);
            e.flagIf(nz, Loc.CF, cf);
            e.flagIf(nz, Loc.OF, of);
            e.flagIf(nz, Loc.SF, e.sized(SIGN, n, r));
            e.flagIf(nz, Loc.ZF, e.sized(ZERO, n, r));
            e.flagIf(nz, Loc.PF, e.sized(PARITY, 1, r));
            e.flagIf(nz, Loc.AF, e.constant(1));   // undefined; set, as the host CPU does
            e.write(d, r);
        }

        // ---- bit operations

        private void bitTest() {
            Mnemonic m = insn.mnemonic();
            int bits = n * 8;
            Emitter.Place d;
            int bit;
            if (op(1) instanceof Operand.Imm i) {
                d = e.place(op(0));
                bit = e.constant(i.value() & (bits - 1));
            } else {
                int off = e.readReg(reg(1));
                if (op(0) instanceof Operand.Mem mem) {
                    // A register bit offset addresses memory relative to the operand (signed, SDM Vol. 2 BT).
                    int so = e.sized(SEXT, n, off);
                    int words = e.op(SAR, so, e.constant(Integer.numberOfTrailingZeros(bits)));
                    int delta = e.op(UopKind.SHL, words, e.constant(Integer.numberOfTrailingZeros(n)));
                    int addr = e.op(UopKind.ADD, e.address(mem), delta);
                    d = new Emitter.Place(null, addr, e.segment(mem), n);
                } else {
                    d = e.place(op(0));
                }
                bit = e.op(UopKind.AND, off, e.constant(bits - 1));
            }
            int v = e.read(d);
            int cf = e.op(BIT, v, bit);
            int mask = e.op(UopKind.SHL, e.constant(1), bit);
            e.to(Loc.CF, MOV, 8, cf);   // OF, SF, AF, PF undefined: kept unchanged; ZF unchanged
            switch (m) {
                case BTS -> e.write(d, e.op(UopKind.OR, v, mask));
                case BTR -> e.write(d, e.op(UopKind.AND, v, e.op(UopKind.NOT, mask)));
                case BTC -> e.write(d, e.op(UopKind.XOR, v, mask));
                default -> { }
            }
        }

        private void bitScan() {
            Register d = reg(0);
            int src = e.copy(e.source(op(1), n));
            int fam = Loc.GPR0 + d.number();
            int r = e.sized(insn.mnemonic() == Mnemonic.BSF ? UopKind.BSF : UopKind.BSR, n, src, e.readReg(d));
            int zf = e.sized(ZERO, n, src);
            e.to(Loc.ZF, MOV, 8, zf);   // CF, OF, SF, AF, PF undefined: kept unchanged
            // a zero source leaves the whole destination register unchanged (what CPUs do)
            writeIf(e.not1(zf), d, r, fam);
        }

        // ---- flags

        private void lahf() {
            int v = e.constant(2);
            int[] flags = {Loc.CF, Loc.PF, Loc.AF, Loc.ZF, Loc.SF};
            int[] bits = {0, 2, 4, 6, 7};
            for (int i = 0; i < flags.length; i++) {
                v = e.op(UopKind.OR, v, e.op(UopKind.SHL, flags[i], e.constant(bits[i])));
            }
            e.writeReg(Register.AH, v);
        }

        /** The RFLAGS image pushf stores (RF and VM read as 0). */
        private int rflagsImage() {
            int v = e.op(UopKind.OR, e.constant(2), e.op(UopKind.SHL, Loc.IOPL, e.constant(12)));
            for (int i = 0; i < Loc.FLAG_LOCS.length; i++) {
                if (Loc.FLAG_LOCS[i] != Loc.RF) {
                    v = e.op(UopKind.OR, v, e.op(UopKind.SHL, Loc.FLAG_LOCS[i], e.constant(Loc.FLAG_BITS[i])));
                }
            }
            return v;
        }

        private void popf() {
            int size = n == 2 ? 2 : 8;
            int v = e.pop(size);
            for (int i = 0; i < Loc.FLAG_LOCS.length; i++) {
                int f = Loc.FLAG_LOCS[i];
                int bit = Loc.FLAG_BITS[i];
                if (f == Loc.IF || f == Loc.RF || bit >= size * 8) {
                    continue;
                }
                e.to(f, BIT, 8, v, e.constant(bit));
            }
            // IOPL changes only at CPL 0, IF only when CPL <= IOPL; otherwise both are silently kept (SDM popf)
            int cpl = e.op(UopKind.AND, Loc.SEL0 + 1, e.constant(3));
            int cpl0 = e.sized(ZERO, 8, cpl);
            int ifAllowed = e.not1(e.sized(BORROW_SUB, 1, Loc.IOPL, cpl, e.constant(0)));
            e.flagIf(ifAllowed, Loc.IF, e.op(BIT, v, e.constant(9)));
            e.to(Loc.IOPL, SELECT, 8, cpl0, e.op(UopKind.AND, e.op(UopKind.SHR, v, e.constant(12)), e.constant(3)), Loc.IOPL);
            e.setConst(Loc.RF, 0);
        }

        // ---- strings

        private void string() {
            if (insn.prefixes().addressSize32()) {
                throw unsupported("string instructions with 32-bit addressing are not lifted");
            }
            Mnemonic m = insn.mnemonic();
            boolean cmp = m == Mnemonic.CMPS || m == Mnemonic.SCAS;
            boolean rep = insn.prefixes().rep() || insn.prefixes().repne();
            int rcx = Loc.GPR0 + RCX;
            if (rep) {
                e.effect(EXIT_IF, 8, new int[]{e.sized(ZERO, 8, rcx)}, insn.nextAddress());
            }
            Register srcSeg = insn.prefixes().segment();
            int src = Loc.GPR0 + RSI;
            if (srcSeg == Register.FS) {
                src = e.op(UopKind.ADD, src, Loc.FS_BASE);
            } else if (srcSeg == Register.GS) {
                src = e.op(UopKind.ADD, src, Loc.GS_BASE);
            }
            int dst = Loc.GPR0 + RDI;
            int delta = e.op(SELECT, Loc.DF, e.constant(-n), e.constant(n));
            Register acc = acc(n);
            switch (m) {
                case MOVS -> e.store(dst, n, Register.ES, e.load(src, n, srcSeg));
                case STOS -> e.store(dst, n, Register.ES, e.readReg(acc));
                case LODS -> e.writeReg(acc, e.load(src, n, srcSeg));
                case CMPS -> {
                    int a = e.load(src, n, srcSeg);
                    int b = e.load(dst, n, Register.ES);
                    e.flagsSub(a, b, e.constant(0), e.op(UopKind.SUB, a, b), n);
                }
                case SCAS -> {
                    int a = e.readReg(acc);
                    int b = e.load(dst, n, Register.ES);
                    e.flagsSub(a, b, e.constant(0), e.op(UopKind.SUB, a, b), n);
                }
                default -> throw unsupported("not a string instruction");
            }
            if (m != Mnemonic.STOS && m != Mnemonic.SCAS) {
                e.to(Loc.GPR0 + RSI, UopKind.ADD, 8, Loc.GPR0 + RSI, delta);
            }
            if (m != Mnemonic.LODS) {
                e.to(Loc.GPR0 + RDI, UopKind.ADD, 8, Loc.GPR0 + RDI, delta);
            }
            if (rep) {
                e.to(rcx, UopKind.SUB, 8, rcx, e.constant(1));
                // the last iteration leaves the instruction in the same step, as the CPU's
                // single-step trap (and QEMU's gdbstub step) show: rip = next once rcx reaches 0
                e.effect(EXIT_IF, 8, new int[]{e.sized(ZERO, 8, rcx)}, insn.nextAddress());
                if (cmp) {
                    // repe stops when ZF = 0, repne when ZF = 1
                    int stop = insn.prefixes().repne() ? Loc.ZF : e.not1(Loc.ZF);
                    e.effect(EXIT_IF, 8, new int[]{stop}, insn.nextAddress());
                }
                e.effect(JUMP, 8, new int[0], insn.address());
            }
        }

        // ---- xmm

        private void moveXmm() {
            Operand d = op(0);
            Operand s = op(1);
            if (d instanceof Operand.Reg dr) {
                int x = xmm(dr.register());
                if (s instanceof Operand.Mem m) {
                    int a = e.address(m);
                    int lo = e.load(a, 8, e.segment(m));
                    int hi = e.load(e.op(UopKind.ADD, a, e.constant(8)), 8, e.segment(m));
                    e.to(x, MOV, 8, lo);
                    e.to(x + 1, MOV, 8, hi);
                } else {
                    int y = xmm(reg(1));
                    e.to(x, MOV, 8, y);
                    e.to(x + 1, MOV, 8, y + 1);
                }
            } else {
                Operand.Mem m = (Operand.Mem) d;
                int y = xmm(reg(1));
                int a = e.address(m);
                e.store(a, 8, e.segment(m), y);
                e.store(e.op(UopKind.ADD, a, e.constant(8)), 8, e.segment(m), y + 1);
            }
        }

        /** pxor/xorps/pand/por: both 64-bit halves of the xmm destination with an xmm or m128 source. */
        private void xmmLogic(UopKind k) {
            int d = xmm(reg(0));
            int lo;
            int hi;
            if (op(1) instanceof Operand.Mem m) {
                int a = e.address(m);
                lo = e.load(a, 8, e.segment(m));
                hi = e.load(e.op(UopKind.ADD, a, e.constant(8)), 8, e.segment(m));
            } else {
                lo = xmm(reg(1));
                hi = lo + 1;
            }
            e.to(d, k, 8, d, lo);
            e.to(d + 1, k, 8, d + 1, hi);
        }

        private void moveXmmScalar() {
            Operand d = op(0);
            Operand s = op(1);
            // movd with REX.W is movq: the decoder gives a GPR operand its own size
            int size = insn.mnemonic() == Mnemonic.MOVQ ? 8 : 4;
            for (Operand o : ops) {
                if (o instanceof Operand.Reg r && r.register().isGpr()) {
                    size = r.register().size();
                }
            }
            if (d instanceof Operand.Reg dr && dr.register().kind() == Register.Kind.XMM) {
                int x = xmm(dr.register());
                int v = s instanceof Operand.Reg sr && sr.register().kind() == Register.Kind.XMM
                        ? xmm(sr.register()) : e.source(s, size);
                e.to(x, ZEXT, size, v);
                e.setConst(x + 1, 0);
            } else {
                int y = xmm(reg(1));
                e.write(e.place(d), e.sized(ZEXT, size, y), size);
            }
        }
    }
}
