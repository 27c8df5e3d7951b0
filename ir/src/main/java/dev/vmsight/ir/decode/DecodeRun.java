package dev.vmsight.ir.decode;

import static dev.vmsight.ir.decode.Mnemonic.*;
import static dev.vmsight.ir.decode.OpcodeTable.NP;
import static dev.vmsight.ir.decode.OpcodeTable.P66;
import static dev.vmsight.ir.decode.OpcodeTable.PF2;
import static dev.vmsight.ir.decode.OpcodeTable.PF3;
import static dev.vmsight.ir.decode.OpcodeTable.row;

import dev.vmsight.ir.decode.OpcodeTable.Entry;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** The state of decoding one instruction: prefixes, REX/VEX bits, the ModRM byte and its memory operand. */
final class DecodeRun {

    private static final int MAX_LENGTH = 15;
    /** Near branches whose meaning with 66 depends on the CPU vendor: refused rather than guessed. */
    private static final java.util.Set<Mnemonic> NEAR_BRANCHES = java.util.EnumSet.of(JCC, JMP, CALL, LOOP, LOOPE,
            LOOPNE, JRCXZ);
    /** The instructions LOCK may prefix, and then only with a memory destination (SDM "LOCK"). */
    private static final java.util.Set<Mnemonic> LOCKABLE = java.util.EnumSet.of(ADD, ADC, AND, BTC, BTR, BTS,
            CMPXCHG, CMPXCHG8B, CMPXCHG16B, DEC, INC, NEG, NOT, OR, SBB, SUB, XOR, XADD, XCHG);
    private static final Register[] SEGMENTS = {Register.ES, Register.CS, Register.SS, Register.DS, Register.FS, Register.GS};
    private static final Register[] HIGH_BYTES = {Register.AH, Register.CH, Register.DH, Register.BH};
    private static final Register[] XMM = java.util.stream.IntStream.range(0, 16)
            .mapToObj(n -> Register.valueOf("XMM" + n)).toArray(Register[]::new);

    private final byte[] code;
    private final int start;
    private final long address;
    private int pos;

    // legacy prefixes
    private boolean lock;
    private int rep;              // 0, 0xF2 or 0xF3: the last of the two wins
    private boolean operandSize16;
    private boolean addressSize32;
    private Register segment;     // the last segment prefix
    private boolean prefix66Consumed;

    // REX (or the VEX equivalents)
    private boolean rexPresent;
    private boolean rexW, rexR, rexX, rexB;
    private int vexV;             // VEX.vvvv, already inverted

    private int opcode;

    // ModRM and the memory operand it describes
    private int modrm = -1;
    private int mod, reg, rm;     // reg and rm include REX.R / REX.B
    private Register memBase, memIndex;
    private int memScale;
    private long memDisp;

    DecodeRun(byte[] code, int offset, long address) {
        this.code = code;
        this.start = offset;
        this.pos = offset;
        this.address = address;
    }

    Instruction decode() {
        if (start < 0 || start > code.length) {
            throw new IllegalArgumentException("offset " + start + " outside a buffer of " + code.length + " bytes");
        }
        readPrefixes();
        Entry e;
        if (opcode == 0x0F) {
            int op2 = u8();
            if (op2 == 0x38 || op2 == 0x3A) {
                opcode = u8();
                e = select((op2 == 0x38 ? OpcodeTable.MAP_0F38 : OpcodeTable.MAP_0F3A)[opcode]);
            } else {
                opcode = op2;
                e = select(OpcodeTable.MAP_0F[opcode]);
            }
        } else {
            e = OpcodeTable.ONE_BYTE[opcode];
        }
        if (e == null) {
            throw invalid("unknown or invalid opcode");
        }
        if (e.special() != null) {
            e = special(e.special());
        }
        if (e.groupMem() != null) {
            readModrm(false);
            e = (mod == 3 ? e.groupReg() : e.groupMem())[reg & 7];
            if (e == null) {
                throw invalid("invalid ModRM.reg /" + (reg & 7) + (mod == 3 ? " (register form)" : " (memory form)"));
            }
        }
        return build(e);
    }

    // ---- prefixes and table selection ----

    private void readPrefixes() {
        while (true) {
            int b = u8();
            switch (b) {
                case 0xF0 -> lock = true;
                case 0xF2, 0xF3 -> rep = b;
                case 0x26 -> segment = Register.ES;
                case 0x2E -> segment = Register.CS;
                case 0x36 -> segment = Register.SS;
                case 0x3E -> segment = Register.DS;
                case 0x64 -> segment = Register.FS;
                case 0x65 -> segment = Register.GS;
                case 0x66 -> operandSize16 = true;
                case 0x67 -> addressSize32 = true;
                default -> {
                    if ((b & 0xF0) == 0x40) {
                        setRex(b);
                        continue;
                    }
                    opcode = b;
                    return;
                }
            }
            // a REX prefix counts only immediately before the opcode
            setRex(0);
        }
    }

    private void setRex(int b) {
        rexPresent = b != 0;
        rexW = (b & 8) != 0;
        rexR = (b & 4) != 0;
        rexX = (b & 2) != 0;
        rexB = (b & 1) != 0;
    }

    /**
     * Picks a 0F-map row by prefix: F3/F2 (the last one present) first, then 66, then none. A
     * prefix with no row is an invalid (or unsupported) encoding: rows that ignore prefixes fill
     * all four slots.
     */
    private Entry select(Entry[] slots) {
        Entry e;
        if (rep == 0xF3) {
            e = slots[PF3];
        } else if (rep == 0xF2) {
            e = slots[PF2];
        } else if (operandSize16) {
            e = slots[P66];
        } else {
            e = slots[NP];
        }
        if (e != null && e.mandatory() && e == slots[P66]) {
            prefix66Consumed = true;
        }
        return e;
    }

    // ---- opcodes whose meaning depends on more than a table row ----

    private Entry special(OpcodeTable.Special s) {
        return switch (s) {
            case XCHG_OR_NOP_90 -> {
                if (rexB) {
                    yield row(XCHG, "v:Zv,rAX");
                }
                if (rep == 0xF3) {
                    yield row(PAUSE, "v");
                }
                yield operandSize16 ? row(XCHG, "v:Zv,rAX") : row(NOP, "v");
            }
            case XABORT_C6 -> {
                readModrm(false);
                if (modrm == 0xF8) {
                    yield row(XABORT, "b:Ibu");
                }
                yield requireReg0(row(MOV, "b:Eb,Ib"));
            }
            case XBEGIN_C7 -> {
                readModrm(false);
                if (modrm == 0xF8) {
                    yield row(XBEGIN, "f64:Jz");
                }
                yield requireReg0(row(MOV, "v:Ev,Iz"));
            }
            case NOP_0F1E -> {
                readModrm(false);
                yield rep == 0xF3 && modrm == 0xFA ? row(ENDBR64, "v") : row(NOP, "v:Ev");
            }
            case GROUP7_0F01 -> group7();
            case GROUP15_0FAE -> group15();
            case GROUP9_0FC7 -> group9();
            case VEX -> vex();
            case X87 -> x87();
        };
    }

    private Entry requireReg0(Entry e) {
        if ((reg & 7) != 0) {
            throw invalid("invalid ModRM.reg /" + (reg & 7));
        }
        return e;
    }

    private Entry group7() {
        readModrm(false);
        if (mod != 3) {
            return switch (reg & 7) {
                case 0 -> row(SGDT, "v:M");
                case 1 -> row(SIDT, "v:M");
                case 2 -> row(LGDT, "v:M");
                case 3 -> row(LIDT, "v:M");
                case 4 -> row(SMSW, "w:Ew");
                case 6 -> row(LMSW, "w:Ew");
                case 7 -> row(INVLPG, "b:M");
                default -> throw invalid("invalid 0F 01 /5 memory form");
            };
        }
        if ((modrm & 0xF8) == 0xE0) {
            return row(SMSW, "v:Ev");
        }
        if ((modrm & 0xF8) == 0xF0) {
            return row(LMSW, "w:Ew");
        }
        Mnemonic m = switch (modrm) {
            case 0xC1 -> VMCALL;
            case 0xC8 -> MONITOR;
            case 0xC9 -> MWAIT;
            case 0xCA -> CLAC;
            case 0xCB -> STAC;
            case 0xCC -> operandSize16 ? TDCALL : null;
            case 0xCF -> ENCLS;
            case 0xD0 -> XGETBV;
            case 0xD1 -> XSETBV;
            case 0xD5 -> XEND;
            case 0xD6 -> XTEST;
            case 0xD9 -> rep != 0 ? VMGEXIT : VMMCALL;
            case 0xDC -> STGI;
            case 0xDD -> CLGI;
            case 0xE8 -> rep == 0 ? SERIALIZE : null;
            case 0xEE -> RDPKRU;
            case 0xEF -> WRPKRU;
            case 0xF8 -> SWAPGS;
            case 0xF9 -> RDTSCP;
            case 0xFA -> rep == 0 && !operandSize16 ? MONITORX : null;
            case 0xFB -> rep == 0 && !operandSize16 ? MWAITX : null;
            case 0xFE -> rep == 0xF3 ? RMPADJUST : null;
            case 0xFF -> rep == 0xF2 ? PVALIDATE : null;
            default -> null;
        };
        if (m == null) {
            throw invalid("unknown 0F 01 register form");
        }
        if (m == TDCALL) {
            prefix66Consumed = true;
        }
        return row(m, "v");
    }

    private Entry group15() {
        readModrm(false);
        int r = reg & 7;
        if (mod != 3) {
            if (rep != 0) {
                throw invalid("unknown F2/F3 0F AE memory form");
            }
            if (operandSize16 && (r == 6 || r == 7)) {
                prefix66Consumed = true;
                return row(r == 6 ? CLWB : CLFLUSHOPT, "b:Mb");
            }
            return switch (r) {
                case 0 -> row(FXSAVE, "y:M");
                case 1 -> row(FXRSTOR, "y:M");
                case 2 -> row(LDMXCSR, "d:Md");
                case 3 -> row(STMXCSR, "d:Md");
                case 4 -> row(XSAVE, "y:M");
                case 5 -> row(XRSTOR, "y:M");
                case 6 -> row(XSAVEOPT, "y:M");
                default -> row(CLFLUSH, "b:Mb");
            };
        }
        if (rep == 0xF3) {
            return switch (r) {
                case 0 -> row(RDFSBASE, "y:Ry");
                case 1 -> row(RDGSBASE, "y:Ry");
                case 2 -> row(WRFSBASE, "y:Ry");
                case 3 -> row(WRGSBASE, "y:Ry");
                case 6 -> row(UMONITOR, "f64:Rq");
                default -> throw invalid("unknown F3 0F AE register form");
            };
        }
        if (r == 6 && (rep == 0xF2 || operandSize16)) {
            prefix66Consumed = true;
            return row(rep == 0xF2 ? UMWAIT : TPAUSE, "d:Ry");
        }
        return switch (r) {
            case 5 -> row(LFENCE, "v");
            case 6 -> row(MFENCE, "v");
            case 7 -> row(SFENCE, "v");
            default -> throw invalid("unknown 0F AE register form");
        };
    }

    private Entry group9() {
        readModrm(false);
        int r = reg & 7;
        if (mod != 3) {
            return switch (r) {
                case 1 -> rexW ? row(CMPXCHG16B, "y:Mx") : row(CMPXCHG8B, "y:Mq");
                case 3 -> row(XRSTORS, "y:M");
                case 4 -> row(XSAVEC, "y:M");
                case 5 -> row(XSAVES, "y:M");
                default -> throw invalid("unknown 0F C7 memory form /" + r);
            };
        }
        if (rep == 0xF2 || (rep == 0xF3 && r != 7)) {
            throw invalid("unknown F2/F3 0F C7 register form /" + r);
        }
        return switch (r) {
            case 6 -> row(RDRAND, "v:Ev");
            case 7 -> rep == 0xF3 ? row(RDPID, "f64:Rq") : row(RDSEED, "v:Ev");
            default -> throw invalid("unknown 0F C7 register form /" + r);
        };
    }

    /** VEX prefix (C4/C5 are never LES/LDS in 64-bit mode); only the BMI general-purpose rows are known. */
    private Entry vex() {
        if (rexPresent || operandSize16 || rep != 0 || lock) {
            throw invalid("VEX after a 66/F2/F3/F0/REX prefix");
        }
        int map;
        int b1 = u8();
        int b2;
        if (opcode == 0xC5) {
            map = 1;
            rexR = (b1 & 0x80) == 0;
            b2 = b1;
        } else {
            rexR = (b1 & 0x80) == 0;
            rexX = (b1 & 0x40) == 0;
            rexB = (b1 & 0x20) == 0;
            map = b1 & 0x1F;
            b2 = u8();
            rexW = (b2 & 0x80) != 0;
        }
        vexV = (~b2 >> 3) & 0xF;
        boolean vexL = (b2 & 4) != 0;
        int pp = switch (b2 & 3) {
            case 0 -> NP;
            case 1 -> P66;
            case 2 -> PF3;
            default -> PF2;
        };
        opcode = u8();
        // VEX map 1 (0F) holds only vector instructions; maps 2 and 3 are 0F38 and 0F3A
        Entry e = map == 2 || map == 3 ? OpcodeTable.vexRow(map - 1, opcode, pp) : null;
        if (e == null || vexL) {
            throw invalid("unsupported VEX-encoded (AVX) instruction");
        }
        return e;
    }

    /** The few x87 control instructions the kernel uses; arithmetic x87 is not decoded. */
    private Entry x87() {
        readModrm(false);
        int r = reg & 7;
        if (mod != 3) {
            Entry e = switch (opcode) {
                case 0xD9 -> switch (r) {
                    case 4 -> row(FLDENV, "v:M");
                    case 5 -> row(FLDCW, "w:Mw");
                    case 6 -> row(FNSTENV, "v:M");
                    case 7 -> row(FNSTCW, "w:Mw");
                    default -> null;
                };
                case 0xDB -> r == 0 ? row(FILD, "d:Md") : null;
                case 0xDD -> switch (r) {
                    case 4 -> row(FRSTOR, "v:M");
                    case 6 -> row(FNSAVE, "v:M");
                    case 7 -> row(FNSTSW, "w:Mw");
                    default -> null;
                };
                case 0xDF -> r == 0 ? row(FILD, "w:Mw") : r == 5 ? row(FILD, "f64:Mq") : null;
                default -> null;
            };
            if (e == null) {
                throw invalid("unsupported x87 instruction");
            }
            return e;
        }
        int both = opcode << 8 | modrm;
        return switch (both) {
            case 0xDBE2 -> row(FNCLEX, "v");
            case 0xDBE3 -> row(FNINIT, "v");
            case 0xDFE0 -> row(FNSTSW, "w:rAX");
            default -> throw invalid("unsupported x87 instruction");
        };
    }

    // ---- ModRM, SIB, displacement ----

    private void readModrm(boolean registerOnly) {
        if (modrm >= 0) {
            return;
        }
        modrm = u8();
        mod = modrm >> 6;
        reg = (modrm >> 3 & 7) | (rexR ? 8 : 0);
        rm = (modrm & 7) | (rexB ? 8 : 0);
        if (registerOnly) {
            mod = 3;
        }
        if (mod != 3) {
            readMemory();
        }
    }

    private void readMemory() {
        int asz = addressSize32 ? 4 : 8;
        memScale = 1;
        if ((modrm & 7) == 4) {
            int sib = u8();
            memScale = 1 << (sib >> 6);
            int idx = (sib >> 3 & 7) | (rexX ? 8 : 0);
            if (idx != 4) {                          // index 100 without REX.X means none
                memIndex = Register.gpr(idx, asz);
            }
            if ((sib & 7) == 5 && mod == 0) {        // no base: disp32 (rbp and r13 need mod 1 or 2)
                memDisp = s32();
            } else {
                memBase = Register.gpr((sib & 7) | (rexB ? 8 : 0), asz);
            }
        } else if ((modrm & 7) == 5 && mod == 0) {
            memBase = Register.RIP;
            memDisp = s32();
        } else {
            memBase = Register.gpr(rm, asz);
        }
        if (mod == 1) {
            memDisp = s8();
        } else if (mod == 2) {
            memDisp = s32();
        }
    }

    // ---- building the instruction ----

    private Instruction build(Entry e) {
        Spec[] specs = e.specs();
        if (e.needsModrm()) {
            // mov to/from CR/DR read a register whatever ModRM.mod says
            List<Spec> all = Arrays.asList(specs);
            readModrm(all.contains(Spec.Cq) || all.contains(Spec.Dq));
        }
        int opsz = operandSize(e);
        List<Operand> ops = new ArrayList<>(specs.length);
        for (Spec s : specs) {
            ops.add(operand(s, opsz));
        }
        Mnemonic m = e.mnemonic();
        if (lock && !LOCKABLE.contains(m)) {
            throw invalid("lock prefix on " + m.asm() + ", which cannot be locked (#UD)");
        }
        if (lock && !(!ops.isEmpty() && ops.get(0) instanceof Operand.Mem)) {
            throw invalid("lock prefix on " + m.asm() + " without a memory destination (#UD)");
        }
        if (operandSize16 && !rexW && NEAR_BRANCHES.contains(m)) {
            throw invalid("66 prefix on a near branch: Intel CPUs ignore it, AMD ones truncate the target to 16 bits");
        }
        if (m == CWDE) {
            m = opsz == 2 ? CBW : opsz == 4 ? CWDE : CDQE;
        } else if (m == CDQ) {
            m = opsz == 2 ? CWD : opsz == 4 ? CDQ : CQO;
        } else if (m == JRCXZ && addressSize32) {
            m = JECXZ;
        } else if (m == MOV && opcode >= 0xB8 && opcode <= 0xBF && opsz == 8 && e.specs().length == 2
                && e.specs()[1] == Spec.Iv) {
            m = MOVABS;
        }
        byte[] bytes = Arrays.copyOfRange(code, start, pos);
        Instruction.Prefixes prefixes = new Instruction.Prefixes(lock, rep == 0xF3, rep == 0xF2, operandSize16,
                addressSize32, segment);
        return new Instruction(address, bytes, m, e.condition(), ops, opsz, prefixes);
    }

    private int operandSize(Entry e) {
        boolean o16 = operandSize16 && !prefix66Consumed;   // 66 still sizes F2/F3-selected rows (popcnt r16)
        return switch (e.size()) {
            case BYTE -> 1;
            case V -> rexW ? 8 : o16 ? 2 : 4;
            case D64 -> rexW ? 8 : o16 ? 2 : 8;
            case F64 -> 8;
            case WORD -> 2;
            case Y -> rexW ? 8 : 4;
            case Z -> o16 && !rexW ? 2 : 4;
            case DWORD -> 4;
            case XMM -> 16;
        };
    }

    private Operand operand(Spec s, int opsz) {
        int y = rexW ? 8 : 4;
        return switch (s) {
            case Eb -> mod == 3 ? reg8(rm) : mem(1);
            case Ev -> mod == 3 ? gpr(rm, opsz) : mem(opsz);
            case Ew -> mod == 3 ? gpr(rm, 2) : mem(2);
            case Ed -> mod == 3 ? gpr(rm, 4) : mem(4);
            case Ey -> mod == 3 ? gpr(rm, y) : mem(y);
            case Eq -> mod == 3 ? gpr(rm, 8) : mem(8);
            case Gb -> reg8(reg);
            case Gv -> gpr(reg, opsz);
            case Gw -> gpr(reg, 2);
            case Gd -> gpr(reg, 4);
            case Gy -> gpr(reg, y);
            case Gq -> gpr(reg, 8);
            case M -> memOnly(0);
            case Mb -> memOnly(1);
            case Mw -> memOnly(2);
            case Md -> memOnly(4);
            case Mq -> memOnly(8);
            case My -> memOnly(y);
            case Mx -> memOnly(16);
            case Mv -> memOnly(opsz);
            case Rq -> regOnly(8);
            case Ry -> regOnly(y);
            case Ib -> new Operand.Imm(s8(), 1);
            case Ibs -> new Operand.Imm(s8(), opsz);
            case Ibu -> new Operand.Imm(u8(), 1);
            case Iw -> new Operand.Imm(u16(), 2);
            case Iz -> opsz == 2 ? new Operand.Imm((short) u16(), 2) : new Operand.Imm(s32(), opsz);
            case Iv -> switch (opsz) {
                case 2 -> new Operand.Imm((short) u16(), 2);
                case 4 -> new Operand.Imm(s32(), 4);
                default -> new Operand.Imm(s64(), 8);
            };
            case Jb -> {
                long d = s8();
                yield new Operand.Rel(address + (pos - start) + d);
            }
            case Jz -> {
                long d = s32();
                yield new Operand.Rel(address + (pos - start) + d);
            }
            case Zb -> reg8((opcode & 7) | (rexB ? 8 : 0));
            case Zv -> gpr((opcode & 7) | (rexB ? 8 : 0), opsz);
            case AL -> new Operand.Reg(Register.AL);
            case rAX -> gpr(0, opsz);
            case CL -> new Operand.Reg(Register.CL);
            case DX -> new Operand.Reg(Register.DX);
            case One -> new Operand.Imm(1, 1);
            case Ob -> moffs(1);
            case Ov -> moffs(opsz);
            case Sw -> {
                if ((reg & 7) > 5) {
                    throw invalid("no segment register " + (reg & 7));
                }
                yield new Operand.Reg(SEGMENTS[reg & 7]);
            }
            case Xb -> string(Register.RSI, 1, effectiveSegment());
            case Xv -> string(Register.RSI, opsz, effectiveSegment());
            case Yb -> string(Register.RDI, 1, null);
            case Yv -> string(Register.RDI, opsz, null);
            case FS -> new Operand.Reg(Register.FS);
            case GS -> new Operand.Reg(Register.GS);
            case Cq -> new Operand.Reg(switch (reg) {
                case 0 -> Register.CR0;
                case 2 -> Register.CR2;
                case 3 -> Register.CR3;
                case 4 -> Register.CR4;
                case 8 -> Register.CR8;
                default -> throw invalid("no control register cr" + reg);
            });
            case Dq -> new Operand.Reg(switch (reg) {
                case 0 -> Register.DR0;
                case 1 -> Register.DR1;
                case 2 -> Register.DR2;
                case 3 -> Register.DR3;
                case 6 -> Register.DR6;
                case 7 -> Register.DR7;
                default -> throw invalid("no debug register dr" + reg);
            });
            case Vx -> xmm(reg);
            case Wx -> mod == 3 ? xmm(rm) : mem(16);
            case Wd -> mod == 3 ? xmm(rm) : mem(4);
            case Wq -> mod == 3 ? xmm(rm) : mem(8);
            case Ux -> {
                if (mod != 3) {
                    throw invalid("register form required");
                }
                yield xmm(rm);
            }
            case By -> gpr(vexV, y);
            case Evw -> mod == 3 ? gpr(rm, opsz) : mem(2);
            case Xlat -> string(Register.RBX, 1, effectiveSegment());
        };
    }

    /** FS and GS change the address in 64-bit mode; ES, CS, SS and DS overrides do not. */
    private Register effectiveSegment() {
        return segment == Register.FS || segment == Register.GS ? segment : null;
    }

    private Operand mem(int size) {
        return new Operand.Mem(effectiveSegment(), memBase, memIndex, memScale, memDisp, size, addressSize32 ? 4 : 8);
    }

    private Operand memOnly(int size) {
        if (mod == 3) {
            throw invalid("memory operand required, ModRM names a register");
        }
        return mem(size);
    }

    private Operand regOnly(int size) {
        if (mod != 3) {
            throw invalid("register operand required, ModRM names memory");
        }
        return gpr(rm, size);
    }

    private Operand moffs(int size) {
        long disp = addressSize32 ? u32() : s64();
        return new Operand.Mem(effectiveSegment(), null, null, 1, disp, size, addressSize32 ? 4 : 8);
    }

    private Operand string(Register family, int size, Register seg) {
        Register r = addressSize32 ? Register.gpr(family.number(), 4) : family;
        return new Operand.Mem(seg, r, null, 1, 0, size, addressSize32 ? 4 : 8);
    }

    private static Operand gpr(int n, int size) { return new Operand.Reg(Register.gpr(n, size)); }

    /** A byte register: with any REX prefix, numbers 4..7 are spl/bpl/sil/dil, without one ah/ch/dh/bh. */
    private Operand reg8(int n) {
        if (!rexPresent && n >= 4 && n < 8) {
            return new Operand.Reg(HIGH_BYTES[n - 4]);
        }
        return new Operand.Reg(Register.gpr(n, 1));
    }

    private static Operand xmm(int n) { return new Operand.Reg(XMM[n]); }

    // ---- byte reading ----

    private int u8() {
        if (pos - start >= MAX_LENGTH) {
            throw invalid("instruction longer than 15 bytes");
        }
        if (pos >= code.length) {
            throw DecodeException.truncated(address, Arrays.copyOfRange(code, start, pos));
        }
        return code[pos++] & 0xFF;
    }

    private long s8() { return (byte) u8(); }

    private int u16() { return u8() | u8() << 8; }

    private long u32() { return (u16() | (long) u16() << 16) & 0xFFFF_FFFFL; }

    private long s32() { return (int) u32(); }

    private long s64() { return u32() | u32() << 32; }

    private DecodeException invalid(String why) {
        return DecodeException.invalid(address, Arrays.copyOfRange(code, start, pos), why);
    }
}
