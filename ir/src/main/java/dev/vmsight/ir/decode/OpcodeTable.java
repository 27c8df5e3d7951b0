package dev.vmsight.ir.decode;

import static dev.vmsight.ir.decode.Mnemonic.*;

import java.util.Arrays;

/**
 * The opcode maps of 64-bit mode, one table per map (one-byte, 0F, 0F38, 0F3A), each row an
 * opcode with its mnemonic, operand-size rule and operand specifiers written the SDM way
 * ({@code "v:Ev,Gv"}: operand size V, operands Ev then Gv). Rows of the 0F maps are
 * selected by the mandatory prefix (none, 66, F3, F2). Opcodes whose meaning depends on the
 * ModRM byte are groups (indexed by ModRM.reg) or {@link Special} rules decided in
 * {@link DecodeRun}. A missing row is an invalid encoding.
 */
final class OpcodeTable {

    /** Mandatory-prefix slots of a 0F-map row. */
    static final int NP = 0, P66 = 1, PF3 = 2, PF2 = 3;

    /** Opcodes decoded by code in {@link DecodeRun} because the ModRM byte picks the instruction. */
    enum Special { GROUP7_0F01, GROUP15_0FAE, GROUP9_0FC7, NOP_0F1E, XCHG_OR_NOP_90, XBEGIN_C7, XABORT_C6, VEX, X87 }

    /**
     * One table row.
     *
     * @param mnemonic  what it is (null for group and special rows)
     * @param condition the condition of Jcc/SETcc/CMOVcc rows
     * @param size      operand-size rule
     * @param specs     operands in Intel order
     * @param groupMem  for a group row: the rows by ModRM.reg when mod != 3
     * @param groupReg  for a group row: the rows by ModRM.reg when mod == 3
     * @param special   for rows decoded by code
     * @param mandatory true if the row's prefix (66/F3/F2) selected it and is consumed by it
     */
    record Entry(Mnemonic mnemonic, Condition condition, OpSize size, Spec[] specs,
                 Entry[] groupMem, Entry[] groupReg, Special special, boolean mandatory) {
        boolean needsModrm() {
            if (groupMem != null) {
                return true;
            }
            for (Spec s : specs) {
                if (s.needsModrm()) {
                    return true;
                }
            }
            return false;
        }

        Entry asMandatory() { return new Entry(mnemonic, condition, size, specs, groupMem, groupReg, special, true); }
    }

    static final Entry[] ONE_BYTE = new Entry[256];
    static final Entry[][] MAP_0F = new Entry[256][4];
    static final Entry[][] MAP_0F38 = new Entry[256][4];
    static final Entry[][] MAP_0F3A = new Entry[256][4];

    private static final Spec[] NO_SPECS = new Spec[0];

    /** A row from {@code "size:spec,spec"}; size is b, v, d64, f64, w, y, z, d or x. */
    static Entry row(Mnemonic m, String form) { return row(m, null, form); }

    static Entry row(Mnemonic m, Condition cc, String form) {
        int colon = form.indexOf(':');
        String sz = colon < 0 ? form : form.substring(0, colon);
        String ops = colon < 0 ? "" : form.substring(colon + 1);
        OpSize size = switch (sz) {
            case "b" -> OpSize.BYTE;
            case "v" -> OpSize.V;
            case "d64" -> OpSize.D64;
            case "f64" -> OpSize.F64;
            case "w" -> OpSize.WORD;
            case "y" -> OpSize.Y;
            case "d" -> OpSize.DWORD;
            case "z" -> OpSize.Z;
            case "x" -> OpSize.XMM;
            default -> throw new IllegalArgumentException("bad size in row " + form);
        };
        Spec[] specs = ops.isEmpty() ? NO_SPECS
                : Arrays.stream(ops.split(",")).map(Spec::valueOf).toArray(Spec[]::new);
        return new Entry(m, cc, size, specs, null, null, null, false);
    }

    private static Entry group(Entry[] byReg) { return new Entry(null, null, OpSize.V, NO_SPECS, byReg, byReg, null, false); }

    private static Entry group(Entry[] mem, Entry[] reg) { return new Entry(null, null, OpSize.V, NO_SPECS, mem, reg, null, false); }

    private static Entry special(Special s) { return new Entry(null, null, OpSize.V, NO_SPECS, null, null, s, false); }

    /** Eight group rows sharing one form; null mnemonics are invalid encodings. */
    private static Entry[] rows(String form, Mnemonic... byReg) {
        Entry[] out = new Entry[8];
        for (int i = 0; i < 8; i++) {
            out[i] = byReg[i] == null ? null : row(byReg[i], form);
        }
        return out;
    }

    /** A prefix-independent 0F-map row (66 then changes the operand size, F2/F3 are ignored). */
    private static void any(Entry[][] map, int op, Entry e) { Arrays.fill(map[op], e); }

    /** A row without a mandatory prefix whose 66 form is the 16-bit version (F2/F3 forms are other instructions). */
    private static void ignore66(Entry[][] map, int op, Entry e) {
        map[op][NP] = e;
        map[op][P66] = e;
    }

    /** A row selected by mandatory prefix {@code slot}. */
    private static void pre(Entry[][] map, int op, int slot, Entry e) { map[op][slot] = slot == NP || e == null ? e : e.asMandatory(); }

    private static final Mnemonic[] ALU = {ADD, OR, ADC, SBB, AND, SUB, XOR, CMP};
    private static final Mnemonic[] SHIFTS = {ROL, ROR, RCL, RCR, SHL, SHR, SHL, SAR};

    static {
        oneByte();
        twoByte();
        threeByte();
    }

    private static void oneByte() {
        Entry[] t = ONE_BYTE;
        for (int i = 0; i < 8; i++) {
            Mnemonic m = ALU[i];
            int base = i * 8;
            t[base] = row(m, "b:Eb,Gb");
            t[base + 1] = row(m, "v:Ev,Gv");
            t[base + 2] = row(m, "b:Gb,Eb");
            t[base + 3] = row(m, "v:Gv,Ev");
            t[base + 4] = row(m, "b:AL,Ib");
            t[base + 5] = row(m, "v:rAX,Iz");
        }
        for (int r = 0; r < 8; r++) {
            t[0x50 + r] = row(PUSH, "d64:Zv");
            t[0x58 + r] = row(POP, "d64:Zv");
            t[0x70 + r] = row(JCC, Condition.fromEncoding(r), "f64:Jb");
            t[0x78 + r] = row(JCC, Condition.fromEncoding(r + 8), "f64:Jb");
            t[0x91 + r] = row(XCHG, "v:Zv,rAX");
            t[0xB0 + r] = row(MOV, "b:Zb,Ib");
            t[0xB8 + r] = row(MOV, "v:Zv,Iv");
        }
        t[0x90] = special(Special.XCHG_OR_NOP_90);
        t[0x63] = row(MOVSXD, "v:Gv,Ed");
        t[0x68] = row(PUSH, "d64:Iz");
        t[0x69] = row(IMUL, "v:Gv,Ev,Iz");
        t[0x6A] = row(PUSH, "d64:Ibs");
        t[0x6B] = row(IMUL, "v:Gv,Ev,Ibs");
        t[0x6C] = row(INS, "b:Yb,DX");
        t[0x6D] = row(INS, "z:Yv,DX");
        t[0x6E] = row(OUTS, "b:DX,Xb");
        t[0x6F] = row(OUTS, "z:DX,Xv");
        t[0x80] = group(rows("b:Eb,Ib", ALU));
        t[0x81] = group(rows("v:Ev,Iz", ALU));
        t[0x83] = group(rows("v:Ev,Ibs", ALU));
        t[0x84] = row(TEST, "b:Eb,Gb");
        t[0x85] = row(TEST, "v:Ev,Gv");
        t[0x86] = row(XCHG, "b:Eb,Gb");
        t[0x87] = row(XCHG, "v:Ev,Gv");
        t[0x88] = row(MOV, "b:Eb,Gb");
        t[0x89] = row(MOV, "v:Ev,Gv");
        t[0x8A] = row(MOV, "b:Gb,Eb");
        t[0x8B] = row(MOV, "v:Gv,Ev");
        t[0x8C] = row(MOV_SEG, "v:Evw,Sw");
        t[0x8D] = row(LEA, "v:Gv,M");
        t[0x8E] = row(MOV_SEG, "v:Sw,Evw");
        t[0x8F] = group(rows("d64:Ev", POP, null, null, null, null, null, null, null));
        t[0x98] = row(CWDE, "v");     // cbw / cwde / cdqe by operand size
        t[0x99] = row(CDQ, "v");      // cwd / cdq / cqo by operand size
        t[0x9B] = row(FWAIT, "v");
        t[0x9C] = row(PUSHF, "d64");
        t[0x9D] = row(POPF, "d64");
        t[0x9E] = row(SAHF, "b");
        t[0x9F] = row(LAHF, "b");
        t[0xA0] = row(MOVABS, "b:AL,Ob");
        t[0xA1] = row(MOVABS, "v:rAX,Ov");
        t[0xA2] = row(MOVABS, "b:Ob,AL");
        t[0xA3] = row(MOVABS, "v:Ov,rAX");
        t[0xA4] = row(MOVS, "b:Yb,Xb");
        t[0xA5] = row(MOVS, "v:Yv,Xv");
        t[0xA6] = row(CMPS, "b:Xb,Yb");
        t[0xA7] = row(CMPS, "v:Xv,Yv");
        t[0xA8] = row(TEST, "b:AL,Ib");
        t[0xA9] = row(TEST, "v:rAX,Iz");
        t[0xAA] = row(STOS, "b:Yb,AL");
        t[0xAB] = row(STOS, "v:Yv,rAX");
        t[0xAC] = row(LODS, "b:AL,Xb");
        t[0xAD] = row(LODS, "v:rAX,Xv");
        t[0xAE] = row(SCAS, "b:AL,Yb");
        t[0xAF] = row(SCAS, "v:rAX,Yv");
        t[0xC0] = group(rows("b:Eb,Ibu", SHIFTS));
        t[0xC1] = group(rows("v:Ev,Ibu", SHIFTS));
        t[0xC2] = row(RET, "d64:Iw");
        t[0xC3] = row(RET, "d64");
        t[0xC4] = special(Special.VEX);
        t[0xC5] = special(Special.VEX);
        t[0xC6] = special(Special.XABORT_C6);
        t[0xC7] = special(Special.XBEGIN_C7);
        t[0xC8] = row(ENTER, "d64:Iw,Ibu");
        t[0xC9] = row(LEAVE, "d64");
        t[0xCA] = row(RETF, "v:Iw");
        t[0xCB] = row(RETF, "v");
        t[0xCC] = row(INT3, "b");
        t[0xCD] = row(INT, "b:Ibu");
        t[0xCF] = row(IRET, "v");
        t[0xD0] = group(rows("b:Eb,One", SHIFTS));
        t[0xD1] = group(rows("v:Ev,One", SHIFTS));
        t[0xD2] = group(rows("b:Eb,CL", SHIFTS));
        t[0xD3] = group(rows("v:Ev,CL", SHIFTS));
        t[0xD7] = row(XLAT, "b:Xlat");
        for (int op = 0xD8; op <= 0xDF; op++) {
            t[op] = special(Special.X87);
        }
        t[0xE0] = row(LOOPNE, "f64:Jb");
        t[0xE1] = row(LOOPE, "f64:Jb");
        t[0xE2] = row(LOOP, "f64:Jb");
        t[0xE3] = row(JRCXZ, "f64:Jb");  // jecxz with 67
        t[0xE4] = row(IN, "b:AL,Ibu");
        t[0xE5] = row(IN, "z:rAX,Ibu");
        t[0xE6] = row(OUT, "b:Ibu,AL");
        t[0xE7] = row(OUT, "z:Ibu,rAX");
        t[0xE8] = row(CALL, "f64:Jz");
        t[0xE9] = row(JMP, "f64:Jz");
        t[0xEB] = row(JMP, "f64:Jb");
        t[0xEC] = row(IN, "b:AL,DX");
        t[0xED] = row(IN, "z:rAX,DX");
        t[0xEE] = row(OUT, "b:DX,AL");
        t[0xEF] = row(OUT, "z:DX,rAX");
        t[0xF1] = row(INT1, "b");
        t[0xF4] = row(HLT, "b");
        t[0xF5] = row(CMC, "b");
        Entry[] f6 = rows("b:Eb", TEST, TEST, NOT, NEG, MUL, IMUL, DIV, IDIV);
        f6[0] = row(TEST, "b:Eb,Ib");
        f6[1] = f6[0];                    // /1 is an undocumented alias of test
        t[0xF6] = group(f6);
        Entry[] f7 = rows("v:Ev", TEST, TEST, NOT, NEG, MUL, IMUL, DIV, IDIV);
        f7[0] = row(TEST, "v:Ev,Iz");
        f7[1] = f7[0];
        t[0xF7] = group(f7);
        t[0xF8] = row(CLC, "b");
        t[0xF9] = row(STC, "b");
        t[0xFA] = row(CLI, "b");
        t[0xFB] = row(STI, "b");
        t[0xFC] = row(CLD, "b");
        t[0xFD] = row(STD, "b");
        t[0xFE] = group(rows("b:Eb", INC, DEC, null, null, null, null, null, null));
        Entry[] ffMem = {row(INC, "v:Ev"), row(DEC, "v:Ev"), row(CALL, "f64:Ev"), row(CALLF, "v:M"),
                row(JMP, "f64:Ev"), row(JMPF, "v:M"), row(PUSH, "d64:Ev"), null};
        Entry[] ffReg = ffMem.clone();
        ffReg[3] = null;
        ffReg[5] = null;
        t[0xFF] = group(ffMem, ffReg);
    }

    private static void twoByte() {
        Entry[][] t = MAP_0F;
        Entry[] g6reg = rows("v:Ev", SLDT, STR, null, null, null, null, null, null);
        g6reg[2] = row(LLDT, "w:Ew");
        g6reg[3] = row(LTR, "w:Ew");
        g6reg[4] = row(VERR, "w:Ew");
        g6reg[5] = row(VERW, "w:Ew");
        any(t, 0x00, group(rows("w:Ew", SLDT, STR, LLDT, LTR, VERR, VERW, null, null), g6reg));
        any(t, 0x01, special(Special.GROUP7_0F01));
        any(t, 0x02, row(LAR, "v:Gv,Evw"));
        any(t, 0x03, row(LSL, "v:Gv,Evw"));
        any(t, 0x05, row(SYSCALL, "v"));
        any(t, 0x06, row(CLTS, "v"));
        any(t, 0x07, row(SYSRET, "v"));
        any(t, 0x08, row(INVD, "v"));
        pre(t, 0x09, NP, row(WBINVD, "v"));
        pre(t, 0x09, PF3, row(WBNOINVD, "v"));
        any(t, 0x0B, row(UD2, "v"));
        any(t, 0x0D, group(rows("b:Mb", PREFETCH, PREFETCHW, PREFETCHWT1, PREFETCH, PREFETCH, PREFETCH, PREFETCH, PREFETCH),
                new Entry[8]));
        pre(t, 0x10, NP, row(MOVUPS, "x:Vx,Wx"));
        pre(t, 0x11, NP, row(MOVUPS, "x:Wx,Vx"));
        Entry[] hint = rows("v:Ev", NOP, NOP, NOP, NOP, NOP, NOP, NOP, NOP);
        Entry[] prefetch = hint.clone();
        prefetch[0] = row(PREFETCHNTA, "b:Mb");
        prefetch[1] = row(PREFETCHT0, "b:Mb");
        prefetch[2] = row(PREFETCHT1, "b:Mb");
        prefetch[3] = row(PREFETCHT2, "b:Mb");
        any(t, 0x18, group(prefetch, hint));
        for (int op = 0x19; op <= 0x1F; op++) {
            any(t, op, group(hint));
        }
        any(t, 0x1E, special(Special.NOP_0F1E));
        Entry[] cldemote = rows("v:Ev", NOP, NOP, NOP, NOP, NOP, NOP, NOP, NOP);
        cldemote[0] = row(CLDEMOTE, "b:Mb");
        any(t, 0x1C, group(cldemote, hint));
        t[0x1C][P66] = group(hint);       // cldemote only without prefixes; else a hint nop
        t[0x1C][PF3] = group(hint);
        t[0x1C][PF2] = group(hint);
        any(t, 0x20, row(MOV_CR, "f64:Rq,Cq"));
        any(t, 0x21, row(MOV_DR, "f64:Rq,Dq"));
        any(t, 0x22, row(MOV_CR, "f64:Cq,Rq"));
        any(t, 0x23, row(MOV_DR, "f64:Dq,Rq"));
        pre(t, 0x28, NP, row(MOVAPS, "x:Vx,Wx"));
        pre(t, 0x29, NP, row(MOVAPS, "x:Wx,Vx"));
        any(t, 0x30, row(WRMSR, "v"));
        any(t, 0x31, row(RDTSC, "v"));
        any(t, 0x32, row(RDMSR, "v"));
        any(t, 0x33, row(RDPMC, "v"));
        any(t, 0x34, row(SYSENTER, "v"));
        any(t, 0x35, row(SYSEXIT, "v"));
        any(t, 0x37, row(GETSEC, "v"));
        for (int c = 0; c < 16; c++) {
            Condition cc = Condition.fromEncoding(c);
            any(t, 0x40 + c, row(CMOVCC, cc, "v:Gv,Ev"));
            any(t, 0x80 + c, row(JCC, cc, "f64:Jz"));
            Entry[] set = new Entry[8];
            Arrays.fill(set, row(SETCC, cc, "b:Eb"));
            any(t, 0x90 + c, group(set));
        }
        pre(t, 0x57, NP, row(XORPS, "x:Vx,Wx"));
        pre(t, 0x62, P66, row(PUNPCKLDQ, "x:Vx,Wx"));
        pre(t, 0x6C, P66, row(PUNPCKLQDQ, "x:Vx,Wx"));
        pre(t, 0x6E, P66, row(MOVD, "y:Vx,Ey"));   // movq with REX.W
        pre(t, 0x6F, P66, row(MOVDQA, "x:Vx,Wx"));
        pre(t, 0x6F, PF3, row(MOVDQU, "x:Vx,Wx"));
        pre(t, 0x70, P66, row(PSHUFD, "x:Vx,Wx,Ibu"));
        Entry[] shiftImm = new Entry[8];
        shiftImm[2] = row(PSRLD, "x:Ux,Ibu");
        shiftImm[6] = row(PSLLD, "x:Ux,Ibu");
        pre(t, 0x72, P66, group(new Entry[8], shiftImm));
        pre(t, 0x77, NP, row(EMMS, "v"));
        pre(t, 0x7E, P66, row(MOVD, "y:Ey,Vx"));   // movq with REX.W
        pre(t, 0x7E, PF3, row(MOVQ, "x:Vx,Wq"));
        pre(t, 0x7F, P66, row(MOVDQA, "x:Wx,Vx"));
        pre(t, 0x7F, PF3, row(MOVDQU, "x:Wx,Vx"));
        any(t, 0xA0, row(PUSH, "d64:FS"));
        any(t, 0xA1, row(POP, "d64:FS"));
        any(t, 0xA2, row(CPUID, "v"));
        any(t, 0xA3, row(BT, "v:Ev,Gv"));
        any(t, 0xA4, row(SHLD, "v:Ev,Gv,Ibu"));
        any(t, 0xA5, row(SHLD, "v:Ev,Gv,CL"));
        any(t, 0xA8, row(PUSH, "d64:GS"));
        any(t, 0xA9, row(POP, "d64:GS"));
        any(t, 0xAA, row(RSM, "v"));
        any(t, 0xAB, row(BTS, "v:Ev,Gv"));
        any(t, 0xAC, row(SHRD, "v:Ev,Gv,Ibu"));
        any(t, 0xAD, row(SHRD, "v:Ev,Gv,CL"));
        any(t, 0xAE, special(Special.GROUP15_0FAE));
        any(t, 0xAF, row(IMUL, "v:Gv,Ev"));
        any(t, 0xB0, row(CMPXCHG, "b:Eb,Gb"));
        any(t, 0xB1, row(CMPXCHG, "v:Ev,Gv"));
        any(t, 0xB2, row(LSS, "v:Gv,M"));
        any(t, 0xB3, row(BTR, "v:Ev,Gv"));
        any(t, 0xB4, row(LFS, "v:Gv,M"));
        any(t, 0xB5, row(LGS, "v:Gv,M"));
        any(t, 0xB6, row(MOVZX, "v:Gv,Eb"));
        any(t, 0xB7, row(MOVZX, "v:Gv,Ew"));
        pre(t, 0xB8, NP, null);
        pre(t, 0xB8, P66, null);
        pre(t, 0xB8, PF3, row(POPCNT, "v:Gv,Ev"));
        any(t, 0xB9, row(UD1, "v:Gv,Ev"));
        any(t, 0xBA, group(rows("v:Ev,Ibu", null, null, null, null, BT, BTS, BTR, BTC)));
        any(t, 0xBB, row(BTC, "v:Ev,Gv"));
        ignore66(t, 0xBC, row(BSF, "v:Gv,Ev"));
        pre(t, 0xBC, PF3, row(TZCNT, "v:Gv,Ev"));
        ignore66(t, 0xBD, row(BSR, "v:Gv,Ev"));
        pre(t, 0xBD, PF3, row(LZCNT, "v:Gv,Ev"));
        any(t, 0xBE, row(MOVSX, "v:Gv,Eb"));
        any(t, 0xBF, row(MOVSX, "v:Gv,Ew"));
        any(t, 0xC0, row(XADD, "b:Eb,Gb"));
        any(t, 0xC1, row(XADD, "v:Ev,Gv"));
        pre(t, 0xC3, NP, row(MOVNTI, "y:My,Gy"));
        any(t, 0xC7, special(Special.GROUP9_0FC7));
        for (int r = 0; r < 8; r++) {
            any(t, 0xC8 + r, row(BSWAP, "v:Zv"));
        }
        pre(t, 0xD6, P66, row(MOVQ, "x:Wq,Vx"));
        pre(t, 0xDB, P66, row(PAND, "x:Vx,Wx"));
        pre(t, 0xE7, P66, row(MOVNTDQ, "x:Mx,Vx"));
        pre(t, 0xEB, P66, row(POR, "x:Vx,Wx"));
        pre(t, 0xEF, P66, row(PXOR, "x:Vx,Wx"));
        pre(t, 0xD4, P66, row(PADDQ, "x:Vx,Wx"));
        pre(t, 0xFE, P66, row(PADDD, "x:Vx,Wx"));
        any(t, 0xFF, row(UD0, "v:Gv,Ev"));
    }

    private static void threeByte() {
        pre(MAP_0F38, 0x00, P66, row(PSHUFB, "x:Vx,Wx"));
        pre(MAP_0F38, 0x82, P66, row(INVPCID, "f64:Gq,M"));
        ignore66(MAP_0F38, 0xF0, row(MOVBE, "v:Gv,Mv"));
        ignore66(MAP_0F38, 0xF1, row(MOVBE, "v:Mv,Gv"));
        pre(MAP_0F38, 0xF0, PF2, row(CRC32, "y:Gy,Eb"));
        pre(MAP_0F38, 0xF1, PF2, row(CRC32, "y:Gy,Ev"));
        pre(MAP_0F38, 0xF6, P66, row(ADCX, "y:Gy,Ey"));
        pre(MAP_0F38, 0xF6, PF3, row(ADOX, "y:Gy,Ey"));
        pre(MAP_0F38, 0xF8, P66, row(MOVDIR64B, "v:Gq,M"));
        pre(MAP_0F38, 0xF8, PF3, row(ENQCMDS, "v:Gq,M"));
        pre(MAP_0F38, 0xF9, NP, row(MOVDIRI, "y:My,Gy"));
    }

    /** VEX-encoded general-purpose rows (BMI1/BMI2), by map (1 = 0F38, 2 = 0F3A), opcode and VEX.pp slot. */
    static Entry vexRow(int map, int op, int pp) {
        if (map == 2) {
            return op == 0xF0 && pp == PF2 ? row(RORX, "y:Gy,Ey,Ibu") : null;
        }
        if (map != 1) {
            return null;
        }
        return switch (op) {
            case 0xF2 -> pp == NP ? row(ANDN, "y:Gy,By,Ey") : null;
            case 0xF3 -> pp == NP ? group(rows("y:By,Ey", null, BLSR, BLSMSK, BLSI, null, null, null, null)) : null;
            case 0xF5 -> switch (pp) {
                case NP -> row(BZHI, "y:Gy,Ey,By");
                case PF3 -> row(PEXT, "y:Gy,By,Ey");
                case PF2 -> row(PDEP, "y:Gy,By,Ey");
                default -> null;
            };
            case 0xF6 -> pp == PF2 ? row(MULX, "y:Gy,By,Ey") : null;
            case 0xF7 -> switch (pp) {
                case NP -> row(BEXTR, "y:Gy,Ey,By");
                case P66 -> row(SHLX, "y:Gy,Ey,By");
                case PF3 -> row(SARX, "y:Gy,Ey,By");
                default -> row(SHRX, "y:Gy,Ey,By");
            };
            default -> null;
        };
    }

    private OpcodeTable() { }
}
