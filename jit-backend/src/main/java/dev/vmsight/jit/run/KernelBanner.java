package dev.vmsight.jit.run;

import dev.vmsight.merger.KernelPlacement;
import dev.vmsight.vmi.GuestMemoryException;
import dev.vmsight.vmi.paging.AddressSpace;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;

/**
 * Which kernel a guest runs, as its own memory says, without symbols of any build: the kernel's
 * {@code linux_banner} ("Linux version 6.1.0-56-amd64 (debian-kernel@lists.debian.org) ... #1 SMP
 * PREEMPT_DYNAMIC Debian 6.1.158-1 (2025-11-09)"), found in the read-only data of the image,
 * which starts at the first mapped 2 MiB of the image window. For naming a kernel in a refusal,
 * never for deciding whether a program applies: the code check decides that.
 */
public final class KernelBanner {
    private static final byte[] PREFIX = "Linux version ".getBytes(StandardCharsets.US_ASCII);
    /** How far past _text the banner may lie (text, then rodata: 40 MiB covers Debian's images). */
    private static final long SPAN = 64L << 20;
    private static final int MAX_LENGTH = 400;

    private KernelBanner() { }

    /** The banner of the guest {@code source} shows, up to its first newline; empty when not found within {@code budget}. */
    public static Optional<String> read(GuestSource source, Duration budget) {
        long text = KernelPlacement.imageStart(source.memory(), ProgramRuns.userEntryView(source.vcpu()));
        if (text == 0) return Optional.empty();
        long root = source.vcpu().cr3();
        AddressSpace space = AddressSpace.of(source.memory(), ProgramRuns.userEntryView(source.vcpu()));
        AddressSpace kernel = AddressSpace.of(source.memory(), root & ~0x1000L, space.mode());
        long deadline = System.nanoTime() + budget.toNanos();
        byte[] page = new byte[4096];
        for (long va = text; va - text < SPAN && System.nanoTime() < deadline; va += 4096) {
            if (!read(space, kernel, va, page)) continue;
            for (int at = indexOf(page, PREFIX, 0); at >= 0; at = indexOf(page, PREFIX, at + 1)) {
                byte[] s = new byte[MAX_LENGTH];
                if (!read(space, kernel, va + at, s)) continue;
                int end = 0;
                while (end < s.length && s[end] != 0 && s[end] != '\n') end++;
                String banner = new String(s, 0, end, StandardCharsets.US_ASCII);
                // the banner, not a format string or a message quoting it: the release follows directly
                if (banner.length() > PREFIX.length && Character.isDigit(banner.charAt(PREFIX.length))) return Optional.of(banner);
            }
        }
        return Optional.empty();
    }

    /** The release in a banner ("6.1.0-56-amd64"), or the banner itself when it has no such form. */
    public static String release(String banner) {
        String rest = banner.startsWith("Linux version ") ? banner.substring("Linux version ".length()) : banner;
        int space = rest.indexOf(' ');
        return space < 0 ? rest : rest.substring(0, space);
    }

    private static boolean read(AddressSpace space, AddressSpace kernel, long va, byte[] into) {
        try {
            space.read(va, into, 0, into.length);
            return true;
        } catch (GuestMemoryException e) {
            try {
                kernel.read(va, into, 0, into.length);
                return true;
            } catch (GuestMemoryException again) {
                return false;
            }
        }
    }

    /** The first index at or after {@code from} where {@code needle} starts wholly inside {@code hay}, or -1 (a banner across a page edge is missed). */
    private static int indexOf(byte[] hay, byte[] needle, int from) {
        outer:
        for (int i = from; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) continue outer;
            }
            return i;
        }
        return -1;
    }
}
