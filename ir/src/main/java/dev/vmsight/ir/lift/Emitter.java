package dev.vmsight.ir.lift;

import dev.vmsight.ir.decode.Instruction;
import dev.vmsight.ir.decode.Operand;
import dev.vmsight.ir.decode.Register;
import dev.vmsight.ir.uop.Loc;
import dev.vmsight.ir.uop.Uop;
import dev.vmsight.ir.uop.UopKind;
import dev.vmsight.ir.uop.UopSemantics;

import java.util.ArrayList;
import java.util.List;

import static dev.vmsight.ir.uop.UopKind.*;

/**
 * Builds the µop list of one instruction: temporaries, operand reads (zero-extended to the
 * operand size) and writes (32-bit writes zero-extend, 8/16-bit writes merge into the old
 * value), effective addresses with FS/GS bases, conditions from individual flags.
 */
final class Emitter {
    /** A resolved operand: a register view, or memory at an address temporary. */
    record Place(Register reg, int addr, Register segment, int size) {
        boolean isMemory() { return reg == null; }
    }

    /** Pseudo-conditions known at lift time (never locations): "always true" and "always false". */
    static final int ALWAYS = -1;
    static final int NEVER = -2;

    private static final int[] NONE = {};
    private static final long[] NO_IMM = {};

    final Instruction insn;
    final List<Uop> uops = new ArrayList<>();
    private int nextTemp = Loc.TEMP0;

    Emitter(Instruction insn) { this.insn = insn; }

    int temp() {
        if (nextTemp >= Loc.COUNT) {
            throw new LiftException(insn, "needs more than " + Loc.MAX_TEMPS + " temporaries");
        }
        return nextTemp++;
    }

    void raw(UopKind kind, int size, Register segment, int[] out, int[] in, long[] imm) {
        if (size != 1 && size != 2 && size != 4 && size != 8) {
            throw new LiftException(insn, kind + " of " + size + " bytes (operand size from the decoder)");
        }
        uops.add(new Uop(kind, size, segment, out, in, imm));
    }

    /** Emits {@code kind} with one fresh output temporary. */
    int sized(UopKind kind, int size, int... in) {
        int t = temp();
        raw(kind, size, null, new int[]{t}, in, NO_IMM);
        return t;
    }

    int op(UopKind kind, int... in) { return sized(kind, 8, in); }

    /** Emits {@code kind} into {@code out} (an architectural location). */
    void to(int out, UopKind kind, int size, int... in) {
        raw(kind, size, null, new int[]{out}, in, NO_IMM);
    }

    void effect(UopKind kind, int size, int[] in, long... imm) { raw(kind, size, null, NONE, in, imm); }

    int constant(long v) {
        int t = temp();
        raw(CONST, 8, null, new int[]{t}, NONE, new long[]{v});
        return t;
    }

    void setConst(int loc, long v) { raw(CONST, 8, null, new int[]{loc}, NONE, new long[]{v}); }

    int copy(int loc) { return op(MOV, loc); }

    // ---- registers

    static int loc(Register r) {
        if (!r.isGpr()) {
            throw new IllegalArgumentException(r + " is not a general-purpose register");
        }
        return Loc.GPR0 + r.number();
    }

    /** The register's value zero-extended (a 64-bit register is returned as its location, not copied). */
    int readReg(Register r) {
        if (r.kind() == Register.Kind.XMM) {
            return Loc.XMM0 + 2 * r.number();
        }
        if (r.kind() == Register.Kind.SEGMENT) {
            return Loc.SEL0 + r.number();
        }
        if (r.kind() == Register.Kind.CONTROL) {
            return crLoc(r);
        }
        if (!r.isGpr()) {
            throw new LiftException(insn, "register " + r.asm() + " is not modelled");
        }
        int l = loc(r);
        if (r.bitOffset() != 0) {
            int t = temp();
            raw(EXTRACT, 1, null, new int[]{t}, new int[]{l}, new long[]{8});
            return t;
        }
        return r.size() == 8 ? l : sized(ZEXT, r.size(), l);
    }

    int crLoc(Register r) {
        return switch (r) {
            case CR0 -> Loc.CR0;
            case CR2 -> Loc.CR2;
            case CR3 -> Loc.CR3;
            case CR4 -> Loc.CR4;
            case CR8 -> Loc.CR8;
            default -> throw new LiftException(insn, "register " + r.asm() + " is not a control register");
        };
    }

    /** Writes {@code value} to a register view: 64 moves, 32 zero-extends, 16/8 merge into the old value. */
    void writeReg(Register r, int value) {
        int l = loc(r);
        switch (r.size()) {
            case 8 -> to(l, MOV, 8, value);
            case 4 -> to(l, ZEXT, 4, value);
            default -> raw(MERGE, r.size(), null, new int[]{l}, new int[]{l, value}, new long[]{r.bitOffset()});
        }
    }

    // ---- memory

    /** The effective address of {@code m} (FS/GS base added; 0x67 truncates to 32 bits). */
    int address(Operand.Mem m) {
        int a;
        if (m.ripRelative()) {
            a = constant(insn.nextAddress() + m.disp());
        } else {
            a = -1;
            if (m.base() != null) {
                a = addrReg(m.base());
            }
            if (m.index() != null) {
                int x = addrReg(m.index());
                if (m.scale() != 1) {
                    x = op(SHL, x, constant(Integer.numberOfTrailingZeros(m.scale())));
                }
                a = a < 0 ? x : op(ADD, a, x);
            }
            if (a < 0) {
                a = constant(m.disp());
            } else if (m.disp() != 0) {
                a = op(ADD, a, constant(m.disp()));
            }
        }
        if (m.addressSize() == 4) {
            a = sized(ZEXT, 4, a);
        }
        Register seg = segment(m);
        if (seg == Register.FS) {
            a = op(ADD, a, Loc.FS_BASE);
        } else if (seg == Register.GS) {
            a = op(ADD, a, Loc.GS_BASE);
        }
        return a;
    }

    private int addrReg(Register r) {
        return r.size() == 8 ? loc(r) : sized(ZEXT, r.size(), loc(r));
    }

    Register segment(Operand.Mem m) {
        return m.segment();   // the decoder sets it only for FS/GS, the segments with a base in 64-bit mode
    }

    int load(int addr, int size, Register seg) {
        int t = temp();
        raw(LOAD, size, seg, new int[]{t}, new int[]{addr}, NO_IMM);
        return t;
    }

    void store(int addr, int size, Register seg, int value) {
        raw(STORE, size, seg, NONE, new int[]{addr, value}, NO_IMM);
    }

    // ---- operands

    Place place(Operand op) {
        if (op instanceof Operand.Reg r) {
            return new Place(r.register(), -1, null, r.register().size());
        }
        if (op instanceof Operand.Mem m) {
            return new Place(null, address(m), segment(m), m.size());
        }
        throw new LiftException(insn, "operand " + op + " cannot be a destination");
    }

    int read(Place p, int size) {
        return p.isMemory() ? load(p.addr(), size, p.segment()) : readReg(p.reg());
    }

    int read(Place p) { return read(p, p.size()); }

    void write(Place p, int value, int size) {
        if (p.isMemory()) {
            store(p.addr(), size, p.segment(), value);
        } else {
            writeReg(p.reg(), value);
        }
    }

    void write(Place p, int value) { write(p, value, p.size()); }

    /** Reads a source operand at {@code size} (immediates truncated to it). */
    int source(Operand op, int size) {
        if (op instanceof Operand.Imm i) {
            return constant(i.value() & UopSemantics.mask(size));
        }
        if (op instanceof Operand.Rel r) {
            return constant(r.target());
        }
        return read(place(op), size);
    }

    // ---- flags

    void flagsSzp(int r, int size) {
        to(Loc.ZF, ZERO, size, r);
        to(Loc.SF, SIGN, size, r);
        to(Loc.PF, PARITY, 1, r);
    }

    /** CF, OF, AF, SF, ZF, PF of a + b + carry = r. */
    void flagsAdd(int a, int b, int carry, int r, int size) {
        to(Loc.CF, CARRY_ADD, size, a, b, carry);
        to(Loc.OF, OVERFLOW_ADD, size, a, b, r);
        to(Loc.AF, AUX, 8, a, b, r);
        flagsSzp(r, size);
    }

    /** CF, OF, AF, SF, ZF, PF of a - b - borrow = r. */
    void flagsSub(int a, int b, int borrow, int r, int size) {
        to(Loc.CF, BORROW_SUB, size, a, b, borrow);
        to(Loc.OF, OVERFLOW_SUB, size, a, b, r);
        to(Loc.AF, AUX, 8, a, b, r);
        flagsSzp(r, size);
    }

    /** Logic ops: CF = OF = 0; AF is undefined (we clear it); SF, ZF, PF from r. */
    void flagsLogic(int r, int size) {
        setConst(Loc.CF, 0);
        setConst(Loc.OF, 0);
        setConst(Loc.AF, 0);
        flagsSzp(r, size);
    }

    int not1(int bit) { return op(XOR, bit, constant(1)); }

    /** A 0/1 temporary: whether condition {@code c} holds, from the flags it reads. */
    int condition(dev.vmsight.ir.decode.Condition c) {
        return switch (c) {
            case O -> Loc.OF;
            case NO -> not1(Loc.OF);
            case B -> Loc.CF;
            case AE -> not1(Loc.CF);
            case E -> Loc.ZF;
            case NE -> not1(Loc.ZF);
            case BE -> op(OR, Loc.CF, Loc.ZF);
            case A -> not1(op(OR, Loc.CF, Loc.ZF));
            case S -> Loc.SF;
            case NS -> not1(Loc.SF);
            case P -> Loc.PF;
            case NP -> not1(Loc.PF);
            case L -> op(XOR, Loc.SF, Loc.OF);
            case GE -> not1(op(XOR, Loc.SF, Loc.OF));
            case LE -> op(OR, Loc.ZF, op(XOR, Loc.SF, Loc.OF));
            case G -> not1(op(OR, Loc.ZF, op(XOR, Loc.SF, Loc.OF)));
        };
    }

    /** flag = cond ? value : flag (a flag left unchanged when a shift count is zero). */
    void flagIf(int cond, int flag, int value) {
        if (cond == ALWAYS) {
            to(flag, MOV, 8, value);
        } else if (cond != NEVER) {
            to(flag, SELECT, 8, cond, value, flag);
        }
    }

    /** cond ? a : b, folded when the condition is known at lift time. */
    int select(int cond, int a, int b) {
        return cond == ALWAYS ? a : cond == NEVER ? b : op(SELECT, cond, a, b);
    }

    // ---- stack

    void push(int value, int size) {
        int sp = op(SUB, Loc.GPR0 + 4, constant(size));
        store(sp, size, Register.SS, value);
        to(Loc.GPR0 + 4, MOV, 8, sp);
    }

    int pop(int size) {
        int v = load(Loc.GPR0 + 4, size, Register.SS);
        to(Loc.GPR0 + 4, ADD, 8, Loc.GPR0 + 4, constant(size));
        return v;
    }
}
