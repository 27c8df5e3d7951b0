package dev.vmsight.ir.decode;

/**
 * Operand specifiers of the opcode tables, named after the Intel SDM's opcode-map notation
 * (addressing method + operand type): E = ModRM r/m, G = ModRM reg, M = ModRM memory only,
 * R = ModRM r/m register only, I = immediate, J = relative branch, Z = register in the opcode's
 * low bits, O = moffs, S = segment register, C/D = control/debug register, V/W = xmm reg / xmm or
 * memory, B = VEX.vvvv general register, X/Y = string source ds:[rsi] / destination es:[rdi].
 * Types: b = byte, w = word, d = dword, q = qword, v = operand size, y = dword or qword (REX.W),
 * x = 128-bit. Ibs is a byte sign-extended to the operand size; Ibu/Iw are unsigned.
 */
enum Spec {
    Eb, Ev, Ew, Ed, Ey, Eq, Gb, Gv, Gw, Gd, Gy, Gq, M, Mb, Mw, Md, Mq, My, Mx, Mv, Rq, Ry,
    Ib, Ibs, Ibu, Iw, Iz, Iv, Jb, Jz, Zb, Zv, AL, rAX, CL, DX, One, Ob, Ov, Sw,
    Xb, Xv, Yb, Yv, FS, GS, Cq, Dq, Vx, Wx, Wd, Wq, Ux, By,
    /** register at the operand size, or a word in memory (mov Sreg, lar, lsl) */
    Evw,
    /** the byte at ds:[rbx] (xlat) */
    Xlat;

    boolean needsModrm() {
        return switch (this) {
            case Eb, Ev, Ew, Ed, Ey, Eq, Gb, Gv, Gw, Gd, Gy, Gq, M, Mb, Mw, Md, Mq, My, Mx, Mv, Rq, Ry,
                 Sw, Cq, Dq, Vx, Wx, Wd, Wq, Ux, Evw -> true;
            default -> false;
        };
    }
}
