package dev.vmsight.ir.interp;

import dev.vmsight.ir.decode.Decoder;
import dev.vmsight.ir.lift.Lifter;
import dev.vmsight.ir.uop.LiftedInstruction;

/** Where the interpreter gets lifted instructions: decode + lift at an address. */
@FunctionalInterface
public interface CodeSource {
    LiftedInstruction at(long address);

    /**
     * Fetches instruction bytes from {@code memory}, decodes them with the project's decoder and
     * lifts them. A fetch that runs into an unmapped page decodes what could be read; if the
     * instruction needs more, the #PF of the missing byte is raised.
     */
    static CodeSource decoding(Memory memory) {
        return address -> {
            byte[] buf = new byte[15];
            int n = 0;
            CpuFault fetchFault = null;
            for (; n < buf.length; n++) {
                try {
                    buf[n] = (byte) memory.read(address + n, 1);
                } catch (CpuFault f) {
                    fetchFault = f;
                    break;
                }
            }
            if (n == 0) {
                throw fetchFault;
            }
            try {
                return Lifter.lift(Decoder.decode(java.util.Arrays.copyOf(buf, n), 0, address));
            } catch (dev.vmsight.ir.decode.DecodeException e) {
                if (fetchFault != null) {
                    throw fetchFault;
                }
                throw e;
            }
        };
    }
}
