package dev.vmsight.ir.decode;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmsight.ir.decode.Operand.Imm;
import dev.vmsight.ir.decode.Operand.Mem;
import dev.vmsight.ir.decode.Operand.Reg;
import dev.vmsight.ir.decode.Operand.Rel;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Hand-checked encodings (Intel SDM vol. 2), one feature per test. */
class DecoderTest {

    private static final long AT = 0x1000;

    private static Instruction d(String hex) {
        byte[] bytes = HexFormat.of().parseHex(hex.replace(" ", ""));
        Instruction insn = Decoder.decode(bytes, 0, AT);
        assertEquals(bytes.length, insn.length(), "length of " + hex);
        return insn;
    }

    private static Reg r(Register reg) { return new Reg(reg); }

    private static Mem m(Register base, Register index, int scale, long disp, int size) {
        return new Mem(null, base, index, scale, disp, size, 8);
    }

    @Test
    void operandSizeFromRexW66AndDefault() {
        assertEquals(List.of(r(Register.RBP), r(Register.RSP)), d("48 89 e5").operands());
        assertEquals(List.of(r(Register.EBP), r(Register.ESP)), d("89 e5").operands());
        assertEquals(List.of(r(Register.BP), r(Register.SP)), d("66 89 e5").operands());
        Instruction both = d("66 48 89 e5");               // REX.W wins over 66
        assertEquals(8, both.operandSize());
        assertEquals(List.of(r(Register.RBP), r(Register.RSP)), both.operands());
        assertTrue(both.prefixes().operandSize16());
    }

    @Test
    void rexNotImmediatelyBeforeTheOpcodeIsIgnored() {
        Instruction insn = d("48 66 89 e5");
        assertEquals(Mnemonic.MOV, insn.mnemonic());
        assertEquals(2, insn.operandSize());
        assertEquals(List.of(r(Register.BP), r(Register.SP)), insn.operands());
    }

    @Test
    void byteRegistersWithAndWithoutRex() {
        assertEquals(List.of(r(Register.BH), r(Register.DH)), d("88 f7").operands());
        assertEquals(List.of(r(Register.DIL), r(Register.SIL)), d("40 88 f7").operands());
        assertEquals(List.of(r(Register.AH), r(Register.AH)), d("88 e4").operands());
        assertEquals(List.of(r(Register.SPL), r(Register.SPL)), d("40 88 e4").operands());
        assertEquals(List.of(r(Register.BPL), r(Register.R8B)), d("44 88 c5").operands());
        assertEquals(List.of(r(Register.R15B), r(Register.AL)), d("41 88 c7").operands());
    }

    @Test
    void ripRelative() {
        Instruction insn = d("48 8b 05 10 00 00 00");
        Mem mem = (Mem) insn.operand(1);
        assertTrue(mem.ripRelative());
        assertEquals(0x10, mem.disp());
        assertEquals(0x1017, insn.nextAddress() + mem.disp());
        // mod=00 rm=101 means RIP-relative even with REX.B (not r13)
        assertEquals(Register.RIP, ((Mem) d("49 8b 05 00 00 00 00").operand(1)).base());
    }

    @Test
    void sibSpecialCases() {
        // no base, no index: absolute disp32
        assertEquals(m(null, null, 1, 0x12345678, 4), d("8b 04 25 78 56 34 12").operand(1));
        // index 100 = none: [rsp]
        assertEquals(m(Register.RSP, null, 1, 0, 4), d("8b 04 24").operand(1));
        // r12 as base needs a SIB byte
        assertEquals(m(Register.R12, null, 1, 0, 4), d("41 8b 04 24").operand(1));
        assertEquals(m(Register.R12, null, 1, 8, 4), d("41 8b 44 24 08").operand(1));
        // r13 as base needs mod=01 with disp8 0
        assertEquals(m(Register.R13, null, 1, 0, 4), d("41 8b 45 00").operand(1));
        // SIB base 101 with mod=00 means no base even with REX.B
        assertEquals(m(null, null, 1, 0x11223344, 4), d("41 8b 04 25 44 33 22 11").operand(1));
        // REX.X extends the index: r12 as index is allowed
        assertEquals(m(Register.RAX, Register.R12, 8, 0, 8), d("4a 8b 04 e0").operand(1));
        assertEquals(m(Register.R12, Register.R13, 1, 0, 4), d("43 8b 04 2c").operand(1));
    }

    @Test
    void displacements() {
        assertEquals(m(Register.RAX, null, 1, -16, 4), d("8b 40 f0").operand(1));
        assertEquals(m(Register.RAX, null, 1, 0x100, 4), d("8b 80 00 01 00 00").operand(1));
        assertEquals(m(Register.RAX, null, 1, -0x80000000L, 4), d("8b 80 00 00 00 80").operand(1));
        assertEquals(m(Register.RBX, Register.RCX, 4, 0x10, 8), d("48 8b 44 8b 10").operand(1));
    }

    @Test
    void immediatesAreSignExtendedToTheOperandSize() {
        Instruction add = d("48 83 c0 ff");
        assertEquals(Mnemonic.ADD, add.mnemonic());
        assertEquals(new Imm(-1, 8), add.operand(1));
        assertEquals(new Imm(-16, 4), d("83 e0 f0").operand(1));
        assertEquals(new Imm(-0x80000000L, 8), d("48 05 00 00 00 80").operand(1));
        assertEquals(new Imm((short) 0x8000, 2), d("66 05 00 80").operand(1));
        assertEquals(new Imm(-10, 4), d("6b c0 f6").operand(2));
        // unsigned immediates keep their width: shift counts, ports, ret sizes
        assertEquals(new Imm(0xff, 1), d("c1 e0 ff").operand(1));
        assertEquals(new Imm(0x80, 1), d("e6 80").operand(0));
        assertEquals(new Imm(0x8000, 2), d("c2 00 80").operand(0));
        assertEquals(new Imm(1, 1), d("d1 e0").operand(1));
    }

    @Test
    void portIoIsSixteenBitsWith66AndIgnoresRexW() {
        assertEquals(List.of(r(Register.AX), r(Register.DX)), d("66 ed").operands());
        assertEquals(List.of(r(Register.DX), r(Register.EAX)), d("48 ef").operands());
        assertEquals(List.of(new Imm(0x12, 1), r(Register.AX)), d("66 e7 12").operands());
        assertEquals(List.of(r(Register.AL), r(Register.DX)), d("ec").operands());
    }

    @Test
    void moffsAndImm64() {
        Instruction load = d("48 a1 88 77 66 55 44 33 22 11");
        assertEquals(Mnemonic.MOVABS, load.mnemonic());
        assertEquals(List.of(r(Register.RAX), m(null, null, 1, 0x1122334455667788L, 8)), load.operands());
        Instruction store = d("a2 88 77 66 55 44 33 22 11");
        assertEquals(List.of(m(null, null, 1, 0x1122334455667788L, 1), r(Register.AL)), store.operands());
        Instruction imm64 = d("48 b8 88 77 66 55 44 33 22 11");
        assertEquals(Mnemonic.MOVABS, imm64.mnemonic());
        assertEquals(new Imm(0x1122334455667788L, 8), imm64.operand(1));
        assertEquals(Mnemonic.MOV, d("b8 ff ff ff ff").mnemonic());
        assertEquals(new Imm(-1, 4), d("b8 ff ff ff ff").operand(1));
        assertEquals(4, ((Mem) d("67 a1 44 33 22 11").operand(1)).addressSize());
    }

    @Test
    void lockRepAndSegmentPrefixes() {
        Instruction cx = d("f0 48 0f b1 0f");
        assertEquals(Mnemonic.CMPXCHG, cx.mnemonic());
        assertTrue(cx.prefixes().lock());
        assertEquals(List.of(m(Register.RDI, null, 1, 0, 8), r(Register.RCX)), cx.operands());

        Instruction movsb = d("f3 a4");
        assertEquals(Mnemonic.MOVS, movsb.mnemonic());
        assertEquals(1, movsb.operandSize());
        assertTrue(movsb.prefixes().rep());
        assertEquals(List.of(m(Register.RDI, null, 1, 0, 1), m(Register.RSI, null, 1, 0, 1)), movsb.operands());
        // the last of F2/F3 wins
        assertTrue(d("f2 f3 a4").prefixes().rep());
        assertFalse(d("f2 f3 a4").prefixes().repne());
        assertTrue(d("f3 f2 ae").prefixes().repne());
        assertEquals(Mnemonic.SCAS, d("f3 f2 ae").mnemonic());

        Instruction canary = d("64 48 8b 04 25 28 00 00 00");
        assertEquals(new Mem(Register.FS, null, null, 1, 0x28, 8, 8), canary.operand(1));
        // the last segment prefix wins
        assertEquals(Register.GS, ((Mem) d("64 65 8b 00").operand(1)).segment());
        // cs is only a hint in 64-bit mode: kept in the prefixes, not on the operand
        Instruction nop = d("66 2e 0f 1f 84 00 00 00 00 00");
        assertEquals(Mnemonic.NOP, nop.mnemonic());
        assertEquals(Register.CS, nop.prefixes().segment());
        assertNull(((Mem) nop.operand(0)).segment());
        // 67: 32-bit address registers
        assertEquals(new Mem(null, Register.EAX, null, 1, 0, 4, 4), d("67 8b 00").operand(1));
        assertEquals(new Mem(null, Register.EDI, null, 1, 0, 1, 4), d("67 a4").operand(0));
    }

    @ParameterizedTest(name = "lock {0} is #UD")
    @ValueSource(strings = {"f0 01 c0", "f0 90", "f0 8b 00", "f0 89 00", "f0 0f af 00", "f0 f7 20", "f0 0f a3 00"})
    void lockNeedsALockableInstructionWithAMemoryDestination(String hex) {
        byte[] bytes = HexFormat.of().parseHex(hex.replace(" ", ""));
        DecodeException e = assertThrows(DecodeException.class, () -> Decoder.decode(bytes, 0, AT));
        assertTrue(e.getMessage().contains("lock prefix"), e.getMessage());
    }

    @Test
    void lockOnMemoryDestinations() {
        assertTrue(d("f0 01 00").prefixes().lock());
        assertEquals(Mnemonic.NOT, d("f0 f7 10").mnemonic());
        assertEquals(Mnemonic.BTS, d("f0 48 0f ab 07").mnemonic());
        assertEquals(Mnemonic.XCHG, d("f0 87 07").mnemonic());
        assertEquals(Mnemonic.CMPXCHG16B, d("f0 48 0f c7 0f").mnemonic());
    }

    @Test
    void branches() {
        Instruction je = d("74 fe");
        assertEquals(Mnemonic.JCC, je.mnemonic());
        assertEquals(Condition.E, je.condition());
        assertEquals(new Rel(AT), je.operand(0));
        Instruction jne = d("0f 85 00 01 00 00");
        assertEquals(Condition.NE, jne.condition());
        assertEquals(new Rel(AT + 6 + 0x100), jne.operand(0));
        assertEquals(new Rel(AT + 5), d("e8 00 00 00 00").operand(0));
        assertEquals(new Rel(AT + 5 - 0x10), d("e9 f0 ff ff ff").operand(0));
        assertEquals(Mnemonic.JRCXZ, d("e3 00").mnemonic());
        assertEquals(Mnemonic.JECXZ, d("67 e3 00").mnemonic());
        Instruction call = d("ff d0");
        assertEquals(Mnemonic.CALL, call.mnemonic());
        assertEquals(List.of(r(Register.RAX)), call.operands());
        assertEquals(Mnemonic.RET, d("c3").mnemonic());
    }

    @Test
    void conditionalFamilies() {
        Instruction sete = d("0f 94 c0");
        assertEquals(Mnemonic.SETCC, sete.mnemonic());
        assertEquals(Condition.E, sete.condition());
        assertEquals(List.of(r(Register.AL)), sete.operands());
        Instruction cmovl = d("48 0f 4c c1");
        assertEquals(Mnemonic.CMOVCC, cmovl.mnemonic());
        assertEquals(Condition.L, cmovl.condition());
        assertEquals(List.of(r(Register.RAX), r(Register.RCX)), cmovl.operands());
        assertNull(d("48 89 e5").condition());
    }

    @Test
    void extensionsAndShifts() {
        assertEquals(List.of(r(Register.EAX), r(Register.AL)), d("0f b6 c0").operands());
        Instruction movsx = d("48 0f bf c1");
        assertEquals(Mnemonic.MOVSX, movsx.mnemonic());
        assertEquals(List.of(r(Register.RAX), r(Register.CX)), movsx.operands());
        assertEquals(List.of(r(Register.RAX), r(Register.ECX)), d("48 63 c1").operands());
        assertEquals(Mnemonic.CDQE, d("48 98").mnemonic());
        assertEquals(Mnemonic.CWDE, d("98").mnemonic());
        assertEquals(Mnemonic.CBW, d("66 98").mnemonic());
        assertEquals(Mnemonic.CQO, d("48 99").mnemonic());
        assertEquals(Mnemonic.SAR, d("c1 f8 05").mnemonic());
        assertEquals(List.of(r(Register.EAX), r(Register.CL)), d("d3 e0").operands());
        assertEquals(Mnemonic.SHL, d("d3 e0").mnemonic());
    }

    @Test
    void pushPopDefaultTo64Bits() {
        assertEquals(8, d("50").operandSize());
        assertEquals(List.of(r(Register.R15)), d("41 57").operands());
        assertEquals(List.of(r(Register.AX)), d("66 50").operands());
        Instruction pushImm = d("6a ff");
        assertEquals(new Imm(-1, 8), pushImm.operand(0));
        assertEquals(m(Register.RIP, null, 1, 0x10, 8), d("ff 35 10 00 00 00").operand(0));
    }

    @Test
    void nopXchgPause() {
        assertEquals(Mnemonic.NOP, d("90").mnemonic());
        assertEquals(Mnemonic.PAUSE, d("f3 90").mnemonic());
        Instruction xchg = d("41 90");
        assertEquals(Mnemonic.XCHG, xchg.mnemonic());
        assertEquals(List.of(r(Register.R8D), r(Register.EAX)), xchg.operands());
        assertEquals(Mnemonic.NOP, d("0f 1f 44 00 00").mnemonic());
        assertEquals(Mnemonic.ENDBR64, d("f3 0f 1e fa").mnemonic());
    }

    @Test
    void systemInstructions() {
        assertEquals(Mnemonic.SWAPGS, d("0f 01 f8").mnemonic());
        Instruction toCr3 = d("0f 22 d8");
        assertEquals(Mnemonic.MOV_CR, toCr3.mnemonic());
        assertEquals(List.of(r(Register.CR3), r(Register.RAX)), toCr3.operands());
        assertEquals(List.of(r(Register.RAX), r(Register.CR4)), d("0f 20 e0").operands());
        assertEquals(List.of(r(Register.CR8), r(Register.RCX)), d("44 0f 22 c1").operands());
        assertEquals(8, d("48 0f 07").operandSize());
        assertEquals(Mnemonic.SYSRET, d("0f 07").mnemonic());
        assertEquals(4, d("0f 07").operandSize());
        assertEquals(8, d("48 cf").operandSize());
        assertEquals(Mnemonic.MFENCE, d("0f ae f0").mnemonic());
        assertEquals(Mnemonic.LFENCE, d("0f ae e8").mnemonic());
        assertEquals(Mnemonic.SFENCE, d("0f ae f8").mnemonic());
        Instruction fx = d("48 0f ae 07");
        assertEquals(Mnemonic.FXSAVE, fx.mnemonic());
        assertEquals(8, fx.operandSize());
        assertEquals(4, d("0f ae 07").operandSize());
        assertEquals(Mnemonic.XSAVES, d("48 0f c7 2f").mnemonic());
        assertEquals(Mnemonic.INVLPG, d("0f 01 3f").mnemonic());
        assertEquals(Mnemonic.RDRAND, d("48 0f c7 f0").mnemonic());
        assertEquals(Mnemonic.WRMSR, d("0f 30").mnemonic());
        assertEquals(Mnemonic.CPUID, d("0f a2").mnemonic());
    }

    @Test
    void bmiThroughVex() {
        Instruction shrx = d("c4 e2 f3 f7 c3");
        assertEquals(Mnemonic.SHRX, shrx.mnemonic());
        assertEquals(List.of(r(Register.RAX), r(Register.RBX), r(Register.RCX)), shrx.operands());
        assertEquals(List.of(r(Register.RAX), r(Register.RBX), r(Register.RCX)), d("c4 e2 e0 f2 c1").operands());
        Instruction rorx = d("c4 e3 fb f0 c3 0d");
        assertEquals(Mnemonic.RORX, rorx.mnemonic());
        assertEquals(new Imm(13, 1), rorx.operand(2));
    }

    @Test
    void sseMoves() {
        Instruction movdqu = d("f3 0f 6f 07");
        assertEquals(Mnemonic.MOVDQU, movdqu.mnemonic());
        assertEquals(List.of(r(Register.XMM0), m(Register.RDI, null, 1, 0, 16)), movdqu.operands());
        assertEquals(16, movdqu.operandSize());
        assertEquals(List.of(r(Register.XMM15), r(Register.ECX)), d("66 44 0f 6e f9").operands());
        Instruction movq = d("66 48 0f 6e c0");
        assertEquals(Mnemonic.MOVD, movq.mnemonic());
        assertEquals(8, movq.operandSize());
        assertEquals(Mnemonic.PXOR, d("66 0f ef c0").mnemonic());
    }

    @ParameterizedTest(name = "{0} is invalid in 64-bit mode")
    @ValueSource(strings = {"06", "07", "0e", "16", "17", "1e", "1f", "27", "2f", "37", "3f", "60", "61", "82 c0 01",
            "9a 00 00 00 00 00 00", "ce", "d4 0a", "d5 0a", "d6", "ea 00 00 00 00 00 00", "ff ff", "8f c8", "fe d0",
            "0f 04", "0f 0a", "0f 22 c8", "0f 21 e0", "8c f8", "0f c7 c8"})
    void invalidEncodingsFailWithAddressAndBytes(String hex) {
        byte[] bytes = HexFormat.of().parseHex(hex.replace(" ", ""));
        DecodeException e = assertThrows(DecodeException.class, () -> Decoder.decode(bytes, 0, 0xffffffff81000000L));
        assertFalse(e.truncated());
        assertEquals(0xffffffff81000000L, e.address());
        assertTrue(e.getMessage().contains("0xffffffff81000000"), e.getMessage());
        assertTrue(e.getMessage().contains(hex.substring(0, 2)), e.getMessage());
        assertEquals(bytes[0], e.bytes()[0]);
    }

    @ParameterizedTest(name = "{0} is truncated")
    @ValueSource(strings = {"", "48", "48 8b", "48 8b 04", "e8 00 00", "0f", "0f 38", "66 f3", "48 b8 00 00 00 00",
            "8b 80 00 00", "c4 e2"})
    void truncationIsADistinctError(String hex) {
        byte[] bytes = HexFormat.of().parseHex(hex.replace(" ", ""));
        DecodeException e = assertThrows(DecodeException.class, () -> Decoder.decode(bytes, 0, 0x2000));
        assertTrue(e.truncated());
        assertTrue(e.getMessage().startsWith("truncated instruction at 0x2000"), e.getMessage());
        assertArrayEquals(bytes, e.bytes());
    }

    @Test
    void moreThanFifteenBytesIsInvalid() {
        byte[] bytes = HexFormat.of().parseHex("66".repeat(15) + "90");
        DecodeException e = assertThrows(DecodeException.class, () -> Decoder.decode(bytes, 0, AT));
        assertFalse(e.truncated());
        assertTrue(e.getMessage().contains("longer than 15"), e.getMessage());
        assertEquals(Mnemonic.NOP, Decoder.decode(HexFormat.of().parseHex("2e".repeat(14) + "90"), 0, AT).mnemonic());
    }

    @Test
    void decodesAtAnOffsetInsideALargerBuffer() {
        byte[] code = HexFormat.of().parseHex("cccc4889e5c3");
        Instruction insn = Decoder.decode(code, 2, 0x400002);
        assertEquals(Mnemonic.MOV, insn.mnemonic());
        assertArrayEquals(HexFormat.of().parseHex("4889e5"), insn.bytes());
        assertEquals(0x400005, insn.nextAddress());
    }
}
