package dev.vmsight.jit.run;

import dev.vmsight.vmi.GuestMemoryException;
import dev.vmsight.vmi.paging.LinearMemory;
import java.util.HexFormat;
import java.util.List;
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
 * site, and the monitor runs its trained variant. So are the patch sites of another CPU model that
 * change nothing a monitor's run can see ({@link #cpuVariant}: return thunks, SMAP's stac/clac,
 * prefetch flavours).
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

    /** One trained kernel instruction whose live bytes differ in meaning ({@code live} null: unreadable there). */
    public record Difference(long address, byte[] trained, byte[] live) {
        public Difference {
            trained = trained.clone();
            live = live == null ? null : live.clone();
        }

        @Override public byte[] trained() { return trained.clone(); }

        @Override public byte[] live() { return live == null ? null : live.clone(); }
    }

    /**
     * Every comparison of one check: what matched, each instruction that did not, and how many
     * differed only as a static key toggled at run time ({@link #staticKeyToggle}).
     */
    public record Report(Match match, List<Difference> differences, int staticKeyToggles) {
        public Report {
            differences = List.copyOf(differences);
        }
    }

    private static final byte[] NOP2 = {0x66, (byte) 0x90};
    private static final byte[] NOP5 = {0x0f, 0x1f, 0x44, 0x00, 0x00};

    /**
     * Whether two encodings at {@code va} are the two states of a jump label (static key): the
     * kernel flips such a site at run time between a 2- or 5-byte NOP and a {@code jmp} of the
     * same length into the kernel image (crng_is_ready turns on minutes after boot; tracepoints
     * turn on with tracing). A jump into module space is not one: that is a hook.
     */
    public static boolean staticKeyToggle(byte[] trained, byte[] live, long va) {
        if (trained.length != live.length) return false;
        byte[] jmp = java.util.Arrays.equals(trained, NOP2) || java.util.Arrays.equals(trained, NOP5) ? live
                : java.util.Arrays.equals(live, NOP2) || java.util.Arrays.equals(live, NOP5) ? trained : null;
        if (jmp == null) return false;
        long target;
        if (jmp.length == 2 && (jmp[0] & 0xff) == 0xeb) {
            target = va + 2 + jmp[1];
        } else if (jmp.length == 5 && (jmp[0] & 0xff) == 0xe9) {
            target = va + 5 + java.nio.ByteBuffer.wrap(jmp, 1, 4).order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt();
        } else {
            return false;
        }
        return Long.compareUnsigned(target, KERNEL_IMAGE_START) >= 0 && Long.compareUnsigned(target, HookedDispatch.MODULES_START) < 0;
    }

    private static SortedMap<Long, byte[]> sortedByAddress(Map<Long, byte[]> code) {
        SortedMap<Long, byte[]> sorted = new TreeMap<>(Long::compareUnsigned);
        sorted.putAll(code);
        return sorted;
    }

    /** The start of the kernel image mapping (__START_KERNEL_map); the image ends below module space. */
    static final long KERNEL_IMAGE_START = 0xffffffff80000000L;

    /**
     * Compares every trained kernel instruction with {@code memory}, as {@link #verify} does, but
     * reports all differences instead of stopping at the first: a few patched instructions on a
     * kernel that otherwise matches are hooks (an agent's alert), not another build. Stops after
     * {@code limit} differences.
     */
    public static Report compare(Map<Long, byte[]> code, LinearMemory memory, dev.vmsight.ir.sys.CpuFeatures features, int limit) {
        SortedMap<Long, byte[]> sorted = code instanceof SortedMap<Long, byte[]> ready ? ready : sortedByAddress(code);
        List<Difference> differences = new java.util.ArrayList<>();
        int instructions = 0;
        int equivalent = 0;
        int toggles = 0;
        long bytes = 0;
        for (Map.Entry<Long, byte[]> e : sorted.entrySet()) {
            long va = e.getKey();
            if (va >= 0) continue;
            byte[] want = e.getValue();
            byte[] got = new byte[want.length];
            try {
                memory.read(va, got, 0, got.length);
            } catch (GuestMemoryException ex) {
                got = null;
            }
            instructions++;
            bytes += want.length;
            if (got != null && java.util.Arrays.equals(want, got)) continue;
            if (got != null && (sameMeaning(want, got, va, features) || cpuVariant(want, got, va, memory))) {
                equivalent++;
                continue;
            }
            if (got != null && staticKeyToggle(want, got, va)) {
                toggles++;
                continue;
            }
            differences.add(new Difference(va, want, got));
            if (differences.size() >= limit) break;
        }
        return new Report(new Match(instructions, bytes, equivalent), differences, toggles);
    }

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
        SortedMap<Long, byte[]> sorted = sortedByAddress(code);
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
                if (!sameMeaning(want, got, va, features) && !cpuVariant(want, got, va, memory)) {
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

    private static final byte[] NOP3 = {0x0f, 0x1f, 0x00};
    private static final byte[] STAC = {0x0f, 0x01, (byte) 0xcb};
    private static final byte[] CLAC = {0x0f, 0x01, (byte) 0xca};

    /**
     * Whether the live bytes at {@code va} are the trained instruction as the kernel patches it at
     * boot for another CPU model, with the same effect on a monitor's run (which has no SMAP, no
     * caches and no speculation):
     * <ul>
     *   <li>a return and a jump to a return thunk (retbleed and SRSO mitigations: {@code ret}
     *       becomes {@code jmp __x86_return_thunk}, whose code is {@code ret; int3}), either way;</li>
     *   <li>{@code stac}/{@code clac} and the 3-byte NOP they replace where SMAP is absent;</li>
     *   <li>{@code prefetchw} and {@code prefetcht0} of the same operand (3DNow!-prefetch or not).</li>
     * </ul>
     * The monitor runs its trained variant. A jump that goes elsewhere than a return thunk, a call
     * to another function or a branch turned into a NOP changes the path: not a variant.
     */
    static boolean cpuVariant(byte[] trained, byte[] live, long va, LinearMemory memory) {
        if (trained.length == 3 && live.length == 3 && smapSite(trained) && smapSite(live)) return true;
        if (trained.length == live.length && trained.length >= 3 && prefetch(trained) && prefetch(live)
                && java.util.Arrays.equals(trained, 2, trained.length, live, 2, live.length)) {
            return true;
        }
        try {
            if (trained.length == 1 && (trained[0] & 0xff) == 0xc3 && (live[0] & 0xff) == 0xe9) {
                return returnThunk(va, memory.readBytes(va, 5), memory);
            }
            if (trained.length == 5 && (trained[0] & 0xff) == 0xe9 && (live[0] & 0xff) == 0xc3) {
                return returnThunk(va, trained, memory);
            }
        } catch (GuestMemoryException unreadable) {
            return false;
        }
        return false;
    }

    private static boolean smapSite(byte[] b) {
        return java.util.Arrays.equals(b, NOP3) || java.util.Arrays.equals(b, STAC) || java.util.Arrays.equals(b, CLAC);
    }

    private static boolean prefetch(byte[] b) {
        return b[0] == 0x0f && (b[1] == 0x0d || b[1] == 0x18) && ((b[2] >> 3) & 7) == 1;
    }

    /** Whether {@code jmp} (e9 rel32 at {@code va}) goes to a return thunk in the kernel image: {@code ret; int3}. */
    private static boolean returnThunk(long va, byte[] jmp, LinearMemory memory) {
        long target = va + 5 + java.nio.ByteBuffer.wrap(jmp, 1, 4).order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt();
        if (Long.compareUnsigned(target, KERNEL_IMAGE_START) < 0 || Long.compareUnsigned(target, HookedDispatch.MODULES_START) >= 0) {
            return false;
        }
        byte[] code = memory.readBytes(target, 2);
        return (code[0] & 0xff) == 0xc3 && (code[1] & 0xff) == 0xcc;
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
