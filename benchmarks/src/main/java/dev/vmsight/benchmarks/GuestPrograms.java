package dev.vmsight.benchmarks;

import dev.vmsight.ir.interp.CodeSource;
import dev.vmsight.ir.interp.Environment;
import dev.vmsight.ir.interp.FaultHandler;
import dev.vmsight.ir.interp.Interpreter;
import dev.vmsight.ir.interp.MachineState;
import dev.vmsight.ir.interp.PagedMemory;
import dev.vmsight.ir.interp.SystemLayer;

import java.util.HexFormat;

/**
 * Endless guest programs for interpreter throughput, assembled with GNU as (source in the
 * comments; bytes pasted so that running a benchmark needs no toolchain).
 */
final class GuestPrograms {
    private GuestPrograms() { }

    static final long CODE = 0x40_0000L;
    static final long DATA = 0x60_0000L;

    /**
     * Straight-line: a 64-instruction basic block (four times: add, xor, lea, shl, mov, sub,
     * imul r,r,imm, and r32, or, store, load, add, cmp, setb, movzx, inc) closed by jmp top.
     */
    static final String STRAIGHT = ("4801d84831c1488d54480848c1e2034989d04929c84d6bc8074181e1f80700004d09ca4e89140e"
            + "4e8b1c0e4983c3014939c30f92c00fb6d849ffc4").repeat(4) + "e90fffffff";

    /**
     * Loop-heavy, endless: checksum of 256 bytes (movzx, add, rol, inc, cmp, jb), strlen
     * (cmp byte, je, inc, jmp), memcpy of 64 qwords (mov load, mov store, inc, cmp, jne).
     * <pre>
     * outer: xor ecx,ecx; xor eax,eax
     * sum:   movzx edx,BYTE PTR [rsi+rcx]; add eax,edx; rol eax,1; inc rcx; cmp rcx,256; jb sum
     *        mov rdi,rsi
     * len:   cmp BYTE PTR [rdi],0; je done; inc rdi; jmp len
     * done:  xor ecx,ecx
     * cp:    mov rdx,QWORD PTR [rsi+rcx*8]; mov QWORD PTR [rsi+rcx*8+0x800],rdx; inc rcx; cmp rcx,64; jne cp
     *        jmp outer
     * </pre>
     */
    static final String LOOPS = "31c931c00fb6140e01d0d1c048ffc14881f90001000072ec4889f7803f00740548ffc7ebf631c9"
            + "488b14ce488994ce0008000048ffc14883f94075ebebc2";

    /** Bytes 1..200 at DATA (then zeros, where strlen stops). */
    static final int STRING_LENGTH = 200;

    record Setup(Interpreter interpreter, MachineState state, PagedMemory memory) { }

    static Setup load(String hex) {
        PagedMemory mem = new PagedMemory();
        mem.load(CODE, HexFormat.of().parseHex(hex));
        mem.map(DATA, 0x2000);
        for (int i = 0; i < STRING_LENGTH; i++) {
            mem.write(DATA + i, 1, 1 + (i * 7) % 250);
        }
        MachineState st = new MachineState();
        st.setRip(CODE);
        st.setGpr(6, DATA);   // rsi
        st.setGpr(3, 5);
        st.setRflags(0x202);
        Interpreter in = new Interpreter(mem, CodeSource.decoding(mem), Environment.NONE, SystemLayer.USER_MODE,
                FaultHandler.RETHROW);
        return new Setup(in, st, mem);
    }

    static String program(String name) {
        return switch (name) {
            case "straight" -> STRAIGHT;
            case "loops" -> LOOPS;
            default -> throw new IllegalArgumentException("no guest program '" + name + "' (straight, loops)");
        };
    }
}
