package dev.vmsight.jit;

import dev.vmsight.ir.decode.Decoder;
import dev.vmsight.ir.uop.LiftedInstruction;
import dev.vmsight.ir.uop.Loc;
import dev.vmsight.ir.uop.Uop;
import dev.vmsight.ir.uop.UopKind;
import dev.vmsight.vmi.Budget;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Run in a child JVM by {@link HotSpotCompilationTest} with -XX:+PrintCompilation: compiles a
 * 600-instruction straight-line program with the method budget given as argument, prints each
 * generated method's size, then runs it hot.
 */
public final class HotSpotCompilationProbe {
    private HotSpotCompilationProbe() { }

    static JitProgram straightLine(int n) {
        List<JitProgram.Instruction> list = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            long a = 0x1000 + i;
            List<Uop> u = new ArrayList<>();
            for (int k = 0; k < 4; k++) {
                int r = (i + k) % 14;
                u.add(new Uop(k % 2 == 0 ? UopKind.ADD : UopKind.XOR, 8, null, new int[]{r}, new int[]{r, (r + 1) % 14}, new long[0]));
            }
            list.add(JitProgram.Instruction.all(new LiftedInstruction(Decoder.decode(new byte[]{(byte) 0x90}, a), u),
                    new JitProgram.Control.Fixed(a + 1)));
        }
        return new JitProgram(0x1000, 0x1000 + n, list);
    }

    /** args: method budget, report file (sizes and time: stdout is PrintCompilation's) */
    public static void main(String[] args) throws java.io.IOException {
        int budget = Integer.parseInt(args[0]);
        JitProgram p = straightLine(600);
        byte[] bytes = budget >= MonitorCompiler.HUGE_METHOD_LIMIT   // unchecked: the split is what is under test
                ? CodeGenerator.generate(p, "dev/vmsight/jit/Monitor$Huge", budget).bytes()
                : MonitorCompiler.emit(p, budget);
        StringBuilder report = new StringBuilder();
        ClassFiles.codeLengths(bytes).forEach((m, size) -> report.append("SIZE ").append(m).append(' ').append(size).append('\n'));
        CompiledMonitor m = MonitorCompiler.define(p, bytes);
        long[] s = new long[Loc.COUNT];
        s[0] = 1;
        long sink = 0;
        Budget b = Budget.of(1_000_000, Duration.ofSeconds(10));
        long t0 = System.nanoTime();
        for (int i = 0; i < 30_000; i++) {
            s[1] = i;
            sink += ((MonitorResult.Completed) m.run(MonitorContext.of(s, a -> null, b))).state()[0];
        }
        report.append("TIME ").append((System.nanoTime() - t0) / 30_000).append(" ns/run ").append(sink).append('\n');
        java.nio.file.Files.writeString(java.nio.file.Path.of(args[1]), report);
    }
}
