package dev.vmsight.jit.run;

import static org.junit.jupiter.api.Assertions.*;

import dev.vmsight.vmi.GuestMemoryException;
import dev.vmsight.vmi.paging.LinearMemory;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** The kernel code check over a small linear memory: match, first differing byte, unmapped code. */
class KernelCodeCheckTest {

    /** Kernel-half bytes at fixed addresses; everything else is not present. */
    private static final class Bytes implements LinearMemory {
        final Map<Long, Byte> bytes = new TreeMap<>();

        void put(long va, byte... b) {
            for (int i = 0; i < b.length; i++) bytes.put(va + i, b[i]);
        }

        @Override public long read(long va, int size) {
            long v = 0;
            for (int i = size - 1; i >= 0; i--) v = v << 8 | (read1(va + i) & 0xff);
            return v;
        }

        private byte read1(long va) {
            Byte b = bytes.get(va);
            if (b == null) throw new GuestMemoryException(GuestMemoryException.Kind.NOT_PRESENT, va, 0, 1, "test: not mapped");
            return b;
        }

        @Override public void read(long va, byte[] dst, int off, int len) {
            for (int i = 0; i < len; i++) dst[off + i] = read1(va + i);
        }

        @Override public void write(long va, int size, long value) { throw new AssertionError("the check wrote to the guest"); }

        @Override public void write(long va, byte[] src, int off, int len) { throw new AssertionError("the check wrote to the guest"); }
    }

    private static final long F = 0xffff_ffff_8100_0000L;

    @Test
    void equalCodeMatchesAndUserHalfIsSkipped() {
        Bytes m = new Bytes();
        m.put(F, (byte) 0x48, (byte) 0x89, (byte) 0xf8);
        m.put(F + 3, (byte) 0xc3);
        var r = KernelCodeCheck.verify(Map.of(F, new byte[] {0x48, (byte) 0x89, (byte) 0xf8}, F + 3, new byte[] {(byte) 0xc3},
                0x401000L, new byte[] {(byte) 0x90}), m, "guest");
        assertEquals(new KernelCodeCheck.Match(2, 4), r);
    }

    @Test
    void firstDifferenceIsNamedWithBothEncodings() {
        Bytes m = new Bytes();
        m.put(F, (byte) 0x48, (byte) 0x89, (byte) 0xf8, (byte) 0xc3);
        m.put(F + 0x10, (byte) 0x0f, (byte) 0x1f, (byte) 0x44, (byte) 0x00, (byte) 0x00);  // a nop where a call was trained
        var e = assertThrows(KernelCodeCheck.KernelMismatchException.class, () -> KernelCodeCheck.verify(Map.of(
                F, new byte[] {0x48, (byte) 0x89, (byte) 0xf8},
                F + 0x10, new byte[] {(byte) 0xe8, 0x11, 0x22, 0x33, 0x44}), m, "lab guest 'x'"));
        assertEquals(F + 0x10, e.address());
        assertEquals("lab guest 'x' is not running the kernel this program was trained on: code at 0xffffffff81000010 is "
                + "0f1f440000, trained e811223344 (another build, boot patching or a KASLR slide)", e.getMessage());
    }

    /** SMP alternatives: a 1-vCPU boot rewrites lock prefixes to ds; both mean the same to a monitor. */
    @Test
    void aLockPrefixWhereDsWasTrainedIsAnEquivalentPatch() {
        Bytes m = new Bytes();
        m.put(F, (byte) 0xf0, (byte) 0x0f, (byte) 0xc1, (byte) 0x03);            // lock xadd [rbx],eax
        byte[] trained = {0x3e, 0x0f, (byte) 0xc1, 0x03};                         // ds xadd [rbx],eax
        var r = KernelCodeCheck.verify(Map.of(F, trained), m, "guest", new dev.vmsight.ir.sys.CpuFeatures(false, false));
        assertEquals(new KernelCodeCheck.Match(1, 4, 1), r);
        // an fs override is a different address: not equivalent
        m.put(F, (byte) 0x64, (byte) 0x0f, (byte) 0xc1, (byte) 0x03);
        assertThrows(KernelCodeCheck.KernelMismatchException.class, () -> KernelCodeCheck.verify(Map.of(F, trained), m, "guest"));
        // another length (lock add vs. a 5-byte call) or another operation is a mismatch
        m.put(F, (byte) 0xf0, (byte) 0x0f, (byte) 0xb1, (byte) 0x03);            // lock cmpxchg [rbx],eax
        assertThrows(KernelCodeCheck.KernelMismatchException.class, () -> KernelCodeCheck.verify(Map.of(F, trained), m, "guest"));
    }

    @Test
    void unmappedCodeIsAMismatchNotACrash() {
        var e = assertThrows(KernelCodeCheck.KernelMismatchException.class,
                () -> KernelCodeCheck.verify(Map.of(F, new byte[] {(byte) 0xc3}), new Bytes(), "dump"));
        assertEquals(F, e.address());
        assertInstanceOf(GuestMemoryException.class, e.getCause());
        assertTrue(e.getMessage().contains("0xffffffff81000000 is not readable"), e.getMessage());
    }
}
