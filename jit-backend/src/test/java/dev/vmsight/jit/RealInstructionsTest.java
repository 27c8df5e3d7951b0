package dev.vmsight.jit;

import dev.vmsight.ir.interp.CodeSource;
import dev.vmsight.ir.interp.CpuFault;
import dev.vmsight.ir.interp.Environment;
import dev.vmsight.ir.interp.FaultHandler;
import dev.vmsight.ir.interp.Interpreter;
import dev.vmsight.ir.interp.MachineState;
import dev.vmsight.ir.interp.PagedMemory;
import dev.vmsight.ir.interp.SystemLayer;
import dev.vmsight.ir.uop.Loc;
import dev.vmsight.vmi.Budget;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Real lifted instructions (assembled with GNU as; source below) compiled and run over 300 random
 * states, against the interpreter: rep movsb/stosq/repne scasb (self-loops through EXIT_IF),
 * div, imul, bsr, cmov, shld, bt, adc, sbb, xadd, cmpxchg, push/pop, call/ret (a trained
 * indirect target), popcnt, sar/rol by cl, neg.
 * <pre>
 *   mov rcx,40; movabs rsi,0x70000000; movabs rdi,0x70001000; rep movsb
 *   mov rcx,5; movabs rax,0x1122334455667788; rep stosq
 *   movabs rdi,0x70000000; mov al,0x33; mov rcx,100; repne scasb; setz dl
 *   mov rax,1000003; xor edx,edx; mov rbx,97; div rbx; imul rax,rdx,-7; bsr r8,rax; cmovc r9,r8
 *   shld r10,r11,13; bt r10,5; adc r12,r13; sbb r14d,r15d
 *   movabs rdi,0x70002000; xadd [rdi],rax; cmpxchg [rdi+8],rbx; mov rsp,0x70002800; push rax; pop rbx
 *   call f; jmp done
 * f: popcnt rax,rbx; movzx ecx,byte ptr [rdi+3]; sar r12,cl; rol r13w,cl; neg r14; ret
 * done: nop
 * </pre>
 */
class RealInstructionsTest {
    static final long CODE = 0x40_0000L, RET = CODE + 0xae, AFTER_CALL = CODE + 0x99, DONE = CODE + 0xaf;
    static final byte[] BYTES = HexFormat.of().parseHex(
            "48c7c12800000048be000000700000000048bf0010007000000000f3a448c7c10500000048b88877665544332211f348ab48bf"
            + "0000007000000000b03348c7c164000000f2ae0f94c248c7c043420f0031d248c7c36100000048f7f3486bc2f94c0fbdc04d0f"
            + "42c84d0fa4da0d490fbae2054d11ec4519fe48bf0020007000000000480fc107480fb15f0848c7c400280070505be802000000"
            + "eb14f3480fb8c30fb64f0349d3fc6641d3c549f7dec390");
    static final long[] PAGES = {0x7000_0000L, 0x7000_1000L, 0x7000_2000L};

    @Test
    void realInstructionsAgreeWithTheInterpreterOverRandomStates() {
        PagedMemory codeMem = new PagedMemory().load(CODE, BYTES);
        JitProgram program = JitProgram.fromCode(CodeSource.decoding(codeMem), CODE, DONE, Map.of(RET, List.of(AFTER_CALL)));
        CompiledMonitor m = MonitorCompiler.compile(program);
        Random rnd = new Random(11);
        int completed = 0, faulted = 0;
        for (int run = 0; run < 300; run++) {
            Map<Long, byte[]> pages = new java.util.LinkedHashMap<>();
            PagedMemory mem = new PagedMemory().load(CODE, BYTES);
            for (long p : PAGES) {
                byte[] b = new byte[4096];
                rnd.nextBytes(b);
                pages.put(p, b);
                mem.load(p, b.clone());
            }
            MachineState st = new MachineState();
            for (int l = 0; l < Loc.ARCH_COUNT; l++) {
                st.set(l, rnd.nextLong());
            }
            st.setRflags(rnd.nextLong() & 0xCD5 | 2);
            if (rnd.nextInt(4) > 0) {
                st.set(Loc.DF, 0);          // mostly forward string operations (DF=1 walks off the mapped pages)
            }
            st.set(Loc.SEL0 + 1, 0x33);
            st.setRip(CODE);
            long[] initial = new long[Loc.COUNT];
            for (int l = 0; l < Loc.COUNT; l++) {
                initial[l] = st.get(l);
            }
            Interpreter in = new Interpreter(mem, CodeSource.decoding(mem), Environment.NONE, SystemLayer.USER_MODE,
                    FaultHandler.RETHROW);
            Long faultAt = null;
            try {
                in.run(st, DONE, 10_000);
            } catch (CpuFault f) {
                faultAt = st.rip();
            }
            MonitorResult r = m.run(MonitorContext.of(initial, a -> {
                byte[] b = pages.get(a);
                if (b == null) {
                    throw new IllegalArgumentException("unmapped page 0x" + Long.toHexString(a));
                }
                return ByteBuffer.wrap(b).asReadOnlyBuffer();
            }, Budget.of(100_000, Duration.ofSeconds(5))));
            if (faultAt != null) {
                MonitorResult.Failed f = assertInstanceOf(MonitorResult.Failed.class, r, "run " + run);
                assertEquals((long) faultAt, f.fault().site().address(), "run " + run + ": " + f.fault().getMessage());
                faulted++;
                continue;
            }
            MonitorResult.Completed c = assertInstanceOf(MonitorResult.Completed.class, r, "run " + run);
            for (int l = 0; l < Loc.ARCH_COUNT; l++) {
                assertEquals(st.get(l), c.state()[l], "run " + run + ": " + Loc.name(l));
            }
            for (long p : PAGES) {
                for (long a = p; a < p + 4096; a += 8) {
                    assertEquals(mem.read(a, 8), c.memory().read(a, 8), "run " + run + ": memory at 0x" + Long.toHexString(a));
                }
            }
            completed++;
        }
        assertTrue(completed > 150 && faulted > 20, completed + " completed, " + faulted + " faulted");
    }
}
