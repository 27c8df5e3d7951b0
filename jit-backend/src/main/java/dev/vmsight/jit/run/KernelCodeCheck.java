package dev.vmsight.jit.run;

import dev.vmsight.vmi.GuestMemoryException;
import dev.vmsight.vmi.paging.LinearMemory;
import java.util.HexFormat;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Is the guest running the kernel a program was trained on? A merged program holds the bytes of
 * every kernel instruction it executes; this reads the same addresses through the guest's own page
 * tables and compares. Equal bytes mean the guest executes exactly the trained code at the trained
 * addresses (same build, same boot-time patching, same KASLR slide); a difference or an unmapped
 * address is reported with the first address, so a monitor never runs over foreign code. This
 * works the same for live guests and dumps: both hold the kernel text in memory. A build hash from
 * a vmlinux file could not be checked against a dump, and the in-memory text differs from the
 * file anyway (alternatives, static keys and ftrace patch it at boot).
 *
 * <p>Boot-time patching that changes no meaning is accepted: an instruction whose live bytes
 * differ but lift to the same µops at the same length (SMP alternatives: a 1-vCPU boot rewrites
 * every {@code lock} prefix to {@code ds}, an SMP guest keeps {@code lock}; a monitor runs alone
 * over its own copy-on-write view, where both mean the same) is counted as an equivalent patch
 * site, and the monitor runs its trained variant.
 */
public final class KernelCodeCheck {

    /**
     * The code matched: how many instructions and bytes were compared, and at how many instructions
     * the bytes differed with the same meaning (see the class comment).
     */
    public record Match(int instructions, long bytes, int equivalentPatches) {
        public Match(int instructions, long bytes) {
            this(instructions, bytes, 0);
        }
    }

    /** The guest's code differs from the program's at {@code address} (or cannot be read there). */
    public static final class KernelMismatchException extends RuntimeException {
        private final long address;

        KernelMismatchException(long address, String message, Throwable cause) {
            super(message, cause);
            this.address = address;
        }

        /** The first instruction address whose bytes differ or do not translate. */
        public long address() { return address; }
    }

    private KernelCodeCheck() {}

    /**
     * Compares {@code code} (instruction address → its bytes; user-half entries are skipped: the
     * program embeds user memory) with {@code memory}, lowest address first.
     *
     * @throws KernelMismatchException at the first difference
     */
    public static Match verify(Map<Long, byte[]> code, LinearMemory memory, String guest) {
        return verify(code, memory, guest, new dev.vmsight.ir.sys.CpuFeatures(false, false));
    }

    /** As above; {@code features} decode the trained and live bytes when they differ (the program's CPU features). */
    public static Match verify(Map<Long, byte[]> code, LinearMemory memory, String guest, dev.vmsight.ir.sys.CpuFeatures features) {
        SortedMap<Long, byte[]> sorted = new TreeMap<>(Long::compareUnsigned);
        sorted.putAll(code);
        int instructions = 0;
        int equivalent = 0;
        long bytes = 0;
        HexFormat hex = HexFormat.of();
        for (Map.Entry<Long, byte[]> e : sorted.entrySet()) {
            long va = e.getKey();
            if (va >= 0) continue;  // user half (below 0x8000_0000_0000_0000 as unsigned): not the kernel's code
            byte[] want = e.getValue();
            byte[] got = new byte[want.length];
            try {
                memory.read(va, got, 0, got.length);
            } catch (GuestMemoryException ex) {
                throw new KernelMismatchException(va, guest + " is not running the kernel this program was trained on: "
                        + "trained kernel code at 0x" + Long.toHexString(va) + " is not readable there (" + ex.getMessage()
                        + "); another build or a KASLR slide", ex);
            }
            if (!java.util.Arrays.equals(want, got)) {
                if (!sameMeaning(want, got, va, features)) {
                    throw new KernelMismatchException(va, guest + " is not running the kernel this program was trained on: "
                            + "code at 0x" + Long.toHexString(va) + " is " + hex.formatHex(got) + ", trained "
                            + hex.formatHex(want) + " (another build, boot patching or a KASLR slide)", null);
                }
                equivalent++;
            }
            instructions++;
            bytes += want.length;
        }
        return new Match(instructions, bytes, equivalent);
    }

    /**
     * Whether two encodings at {@code va} are one instruction of the same length with the same µops,
     * a segment override of a flat 64-bit segment (ES, CS, SS, DS) counting as none.
     */
    static boolean sameMeaning(byte[] trained, byte[] live, long va, dev.vmsight.ir.sys.CpuFeatures features) {
        dev.vmsight.ir.uop.LiftedInstruction a, b;
        try {
            a = dev.vmsight.ir.sys.SystemMachine.lift(trained, va, features);
            b = dev.vmsight.ir.sys.SystemMachine.lift(live, va, features);
        } catch (RuntimeException undecodable) {
            return false;
        }
        if (a.instruction().length() != trained.length || b.instruction().length() != live.length
                || a.uops().size() != b.uops().size()) {
            return false;
        }
        for (int i = 0; i < a.uops().size(); i++) {
            if (!flat(a.uops().get(i)).equals(flat(b.uops().get(i)))) {
                return false;
            }
        }
        return true;
    }

    private static dev.vmsight.ir.uop.Uop flat(dev.vmsight.ir.uop.Uop u) {
        var seg = u.segment();
        boolean flatSegment = seg != null && seg != dev.vmsight.ir.decode.Register.FS && seg != dev.vmsight.ir.decode.Register.GS;
        return flatSegment ? new dev.vmsight.ir.uop.Uop(u.kind(), u.size(), null, u.out(), u.in(), u.imm()) : u;
    }
}
