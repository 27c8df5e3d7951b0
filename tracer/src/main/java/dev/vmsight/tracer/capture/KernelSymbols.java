package dev.vmsight.tracer.capture;

import dev.vmsight.guests.QemuGuest;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The addresses of the few kernel functions later stages summarise (the random-number sources and
 * the slab/kmalloc allocators and frees: exported interfaces of the kernel), read from the guest's
 * own {@code /proc/kallsyms} once per tracer (the Debian vmlinux is stripped). They go into every
 * trace header's context as {@code kernel.symbol.NAME = hex address}: with KASLR a trace is only
 * meaningful with the addresses of its own boot, so they travel with it.
 */
public final class KernelSymbols {
    /** The functions whose addresses are recorded. */
    public static final List<String> RECORDED = List.of("get_random_u8", "get_random_u16", "get_random_u32",
            "get_random_u64", "kmem_cache_alloc", "kmem_cache_alloc_lru", "kmem_cache_alloc_node", "__kmalloc",
            "__kmalloc_node", "kmalloc_trace", "kmalloc_node_trace", "kmalloc_large", "kfree", "kmem_cache_free");
    /** Header context key prefix. */
    public static final String KEY = "kernel.symbol.";

    private static final Pattern LINE = Pattern.compile("([0-9a-f]{16}) ([tT]) (\\S+)");

    private KernelSymbols() { }

    /** {@code KEY + name → hex address} for each recorded function the guest's kallsyms lists (global symbols first). */
    static Map<String, String> read(QemuGuest guest, Duration timeout) {
        String script = "grep -E ' [tT] (" + String.join("|", RECORDED) + ")$' /proc/kallsyms";
        String out = guest.exec(timeout, List.of("/bin/sh", "-c", script)).stdoutOrThrow("reading /proc/kallsyms in the guest");
        return parse(out);
    }

    /**
     * Saves the guest's text symbols ({@code /proc/kallsyms} lines of type t/T) to {@code file}, for
     * naming functions in program listings ({@code vmsight inspect}); written whole or not at all.
     */
    static void saveTextSymbols(QemuGuest guest, Duration timeout, Path file) throws IOException {
        String out = guest.exec(timeout, List.of("/bin/sh", "-c", "grep ' [tT] ' /proc/kallsyms"))
                .stdoutOrThrow("reading /proc/kallsyms in the guest");
        Path tmp = file.resolveSibling(file.getFileName() + ".new");
        Files.writeString(tmp, out);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    static Map<String, String> parse(String kallsyms) {
        Map<String, String> global = new LinkedHashMap<>();
        Map<String, String> local = new LinkedHashMap<>();
        for (String line : kallsyms.split("\n")) {
            var m = LINE.matcher(line.strip());
            if (!m.matches() || !RECORDED.contains(m.group(3)) || m.group(1).equals("0000000000000000")) {
                continue;   // all-zero addresses: kptr_restrict hides them, which is no address at all
            }
            (m.group(2).equals("T") ? global : local).putIfAbsent(KEY + m.group(3), m.group(1));
        }
        local.forEach(global::putIfAbsent);
        return global;
    }
}
