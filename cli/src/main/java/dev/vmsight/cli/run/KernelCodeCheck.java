package dev.vmsight.cli.run;

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
 */
public final class KernelCodeCheck {

    /** The code matched: how many instructions and bytes were compared. */
    public record Match(int instructions, long bytes) {}

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
        SortedMap<Long, byte[]> sorted = new TreeMap<>(Long::compareUnsigned);
        sorted.putAll(code);
        int instructions = 0;
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
            for (int i = 0; i < want.length; i++) {
                if (want[i] != got[i]) {
                    throw new KernelMismatchException(va, guest + " is not running the kernel this program was trained on: "
                            + "code at 0x" + Long.toHexString(va) + " is " + hex.formatHex(got) + ", trained "
                            + hex.formatHex(want) + " (another build, boot patching or a KASLR slide)", null);
                }
            }
            instructions++;
            bytes += want.length;
        }
        return new Match(instructions, bytes);
    }
}
