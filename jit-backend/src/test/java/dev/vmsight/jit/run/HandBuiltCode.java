package dev.vmsight.jit.run;

import dev.vmsight.ir.sys.CpuFeatures;
import dev.vmsight.ir.sys.SystemMachine;
import dev.vmsight.merger.MergedProgram.ProgramInstruction;

import java.util.stream.IntStream;

/** Instructions for hand-built merged programs in tests: real x86 bytes, user mode. */
final class HandBuiltCode {
    private HandBuiltCode() { }

    /** An instruction with every µop kept. */
    static ProgramInstruction kept(long address, int... bytes) {
        byte[] b = bytes(bytes);
        int n = SystemMachine.lift(b, address, CpuFeatures.ALL).uops().size();
        return new ProgramInstruction(address, b, 3, IntStream.range(0, n).toArray());
    }

    /** An instruction whose µops are all dropped (a call or ret replaced by the frame stack or a summary). */
    static ProgramInstruction none(long address, int... bytes) {
        return new ProgramInstruction(address, bytes(bytes), 3, new int[0]);
    }

    static byte[] bytes(int... bytes) {
        byte[] b = new byte[bytes.length];
        for (int i = 0; i < b.length; i++) b[i] = (byte) bytes[i];
        return b;
    }

    /** {@code call rel32} at {@code at} to {@code target}. */
    static int[] call(long at, long target) {
        int rel = (int) (target - (at + 5));
        return new int[] {0xe8, rel & 0xff, rel >> 8 & 0xff, rel >> 16 & 0xff, rel >>> 24};
    }
}
