package dev.vmsight.merger;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Function names by address from a System.map or /proc/kallsyms text ("ADDRESS TYPE NAME" per
 * line; text symbols t/T/w/W only), or from an ELF file's function symbols. The lab's vmlinux
 * has no symbol table, so the guest's kallsyms (saved beside the training corpus) is the source of
 * kernel function names for {@code vmsight inspect}; the training binary names the user code.
 */
public final class Symbols {
    private final TreeMap<Long, String> byAddress;

    private Symbols(TreeMap<Long, String> byAddress) { this.byAddress = byAddress; }

    public static Symbols none() { return new Symbols(new TreeMap<>()); }

    /** Functions by name → address (an ELF symbol table's functions, for instance). */
    public static Symbols ofFunctions(Map<String, Long> addressByName) {
        TreeMap<Long, String> map = new TreeMap<>(Long::compareUnsigned);
        addressByName.forEach((name, address) -> map.merge(address, name, (a, b) -> a.compareTo(b) <= 0 ? a : b));
        return new Symbols(map);
    }

    /**
     * These symbols with every kernel-image address (at or above {@code __START_KERNEL_map}) moved
     * by {@code slide}: a nokaslr boot's kallsyms naming the code of a boot whose image slid.
     */
    public Symbols slid(long slide) {
        TreeMap<Long, String> map = new TreeMap<>(Long::compareUnsigned);
        byAddress.forEach((a, name) -> map.put(Long.compareUnsigned(a, KernelLayout.IMAGE_WINDOW_START) >= 0 ? a + slide : a, name));
        return new Symbols(map);
    }

    /** These symbols and {@code other}'s (this one's name wins at an address both have). */
    public Symbols plus(Symbols other) {
        TreeMap<Long, String> map = new TreeMap<>(byAddress);
        other.byAddress.forEach(map::putIfAbsent);
        return new Symbols(map);
    }

    public static Symbols readSystemMap(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read symbol file " + file + ": " + e.getMessage(), e);
        }
        TreeMap<Long, String> map = new TreeMap<>(Long::compareUnsigned);
        int n = 0;
        for (String line : lines) {
            n++;
            String[] f = line.trim().split("\\s+");
            if (f.length < 3) {
                continue;
            }
            if (!f[1].matches("[tTwW]")) {
                continue;
            }
            try {
                map.putIfAbsent(Long.parseUnsignedLong(f[0], 16), f[2]);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(file + " line " + n + ": '" + f[0]
                        + "' is not a hexadecimal address (expected System.map or kallsyms lines)");
            }
        }
        if (map.isEmpty()) {
            throw new IllegalArgumentException(file + " holds no text symbols (expected System.map or kallsyms lines)");
        }
        return new Symbols(map);
    }

    /** "name+0xoff" for the nearest text symbol at or below {@code address}, or null. */
    public String describe(long address) {
        Map.Entry<Long, String> e = byAddress.floorEntry(address);
        if (e == null) {
            return null;
        }
        long off = address - e.getKey();
        return off == 0 ? e.getValue() : e.getValue() + "+0x" + Long.toHexString(off);
    }

    /** The nearest symbol's name and address at or below {@code address}, or null. */
    public Map.Entry<Long, String> function(long address) { return byAddress.floorEntry(address); }

    public boolean isEmpty() { return byAddress.isEmpty(); }
}
