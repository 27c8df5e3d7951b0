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

    private static byte[] hex(String h) { return java.util.HexFormat.of().parseHex(h); }

    /** The lab kernel on Skylake-Server-v4 against its training on qemu64: the variants met there (KaslrLabTest). */
    @Test
    void anotherCpuModelsPatchSitesThatChangeNothingAreVariants() {
        Bytes m = new Bytes();
        long thunk = F + 0x1000, other = F + 0x2000;
        m.put(thunk, hex("c3cc"));                 // __x86_return_thunk: ret; int3
        m.put(other, hex("4889f8c3"));             // some other function
        m.put(F, hex("e9fb0f0000"));               // jmp thunk, where training had ret
        m.put(F + 0x10, hex("e9eb1f0000"));        // jmp other: another path
        m.put(F + 0x20, hex("0f01cb"));            // stac where training had a 3-byte NOP
        m.put(F + 0x30, hex("0f1808"));            // prefetcht0 (%rax) where training had prefetchw (%rax)
        m.put(F + 0x40, hex("c3cccccccc"));        // ret where training had jmp thunk (the other way round)
        assertTrue(KernelCodeCheck.cpuVariant(hex("c3"), hex("e9"), F, m));
        assertFalse(KernelCodeCheck.cpuVariant(hex("c3"), hex("e9"), F + 0x10, m), "a jump elsewhere changes the path");
        assertTrue(KernelCodeCheck.cpuVariant(hex("0f1f00"), hex("0f01cb"), F + 0x20, m));
        assertTrue(KernelCodeCheck.cpuVariant(hex("0f0d08"), hex("0f1808"), F + 0x30, m));
        assertFalse(KernelCodeCheck.cpuVariant(hex("0f0d08"), hex("0f1809"), F + 0x30, m), "another operand");
        assertTrue(KernelCodeCheck.cpuVariant(hex("e9bb0f0000"), hex("c3cccccccc"), F + 0x40, m));
        var r = KernelCodeCheck.compare(Map.of(F, hex("c3"), F + 0x10, hex("c3"), F + 0x20, hex("0f1f00")), m,
                new dev.vmsight.ir.sys.CpuFeatures(false, false), 10);
        assertEquals(2, r.match().equivalentPatches());
        assertEquals(1, r.differences().size());
        assertEquals(F + 0x10, r.differences().get(0).address());
    }
}
