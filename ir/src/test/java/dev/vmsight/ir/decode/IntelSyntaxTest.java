package dev.vmsight.ir.decode;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.HexFormat;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The printer in objdump's Intel syntax (the oracle checks it at scale; these pin a few by hand). */
class IntelSyntaxTest {

    @ParameterizedTest(name = "{0} prints as {1}")
    @CsvSource(delimiter = '|', value = {
            "48 8b 05 10 00 00 00 | mov rax,QWORD PTR [rip+0x10]",
            "64 48 8b 04 25 28 00 00 00 | mov rax,QWORD PTR fs:0x28",
            "48 83 c0 ff | add rax,0xffffffffffffffff",
            "8b 40 f0 | mov eax,DWORD PTR [rax-0x10]",
            "4a 8b 04 e0 | mov rax,QWORD PTR [rax+r12*8]",
            "f0 48 0f c1 04 24 | lock xadd QWORD PTR [rsp],rax",
            "f3 48 a5 | rep movs QWORD PTR [rdi],QWORD PTR [rsi]",
            "0f 84 00 01 00 00 | je 0x1106",
            "0f 94 c0 | sete al",
            "d1 e0 | shl eax,1",
            "c1 e0 03 | shl eax,0x3",
            "0f 22 d8 | mov cr3,rax",
            "48 a1 88 77 66 55 44 33 22 11 | movabs rax,ds:0x1122334455667788",
            "66 48 0f 6e c0 | movq xmm0,rax",
            "c3 | ret"})
    void printsLikeObjdump(String hex, String text) {
        Instruction insn = Decoder.decode(HexFormat.of().parseHex(hex.replace(" ", "")), 0, 0x1000);
        assertEquals(text, IntelSyntax.format(insn));
        assertEquals("0x1000: " + hex + "  " + text, insn.toString());
    }
}
