package dev.vmsight.merger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.vmsight.ir.sys.CpuFeatures;
import dev.vmsight.tracer.trace.TraceHeader;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Cross-validation asks each held-out run its own question. */
class CrossValidationTest {

    private static TraceHeader header(TraceHeader.BufferSpec input) {
        return new TraceHeader("getpsfile", List.of("300"), new TraceHeader.GuestIdentity("feedface", "test", "none", 1, 1 << 20),
                CpuFeatures.ALL, new TraceHeader.Marks(0x401000, 0x401000, 0x401100, 0x1000), input, TraceHeader.BufferSpec.none("out"),
                new TraceHeader.StartState(new long[8], 0, 0, 0, 0, 0, 40), Map.of(), 0);
    }

    @Test
    void aHeldOutRunIsAskedItsOwnInput() {
        byte[] pid = {0x2c, 0x01, 0, 0};
        assertArrayEquals(pid, CrossValidation.heldOutInput(header(new TraceHeader.BufferSpec("in", 0x4c6100, 4, new long[] {0x2000}, pid))));
        assertArrayEquals(new byte[0], CrossValidation.heldOutInput(header(TraceHeader.BufferSpec.none("in"))));
    }
}
