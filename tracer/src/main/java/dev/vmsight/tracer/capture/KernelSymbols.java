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
 * The addresses of the few kernel symbols later stages need, read from the guest's own
 * {@code /proc/kallsyms} once per tracer (the Debian vmlinux is stripped): the functions the
 * slicer summarises (the random-number sources and the slab/kmalloc allocators and frees: exported
 * interfaces of the kernel), and the data a monitor locates its run context with (the per-CPU
 * offset table, the per-CPU {@code current_task} and stack-top slots, the static per-CPU area's
 * size, {@code init_task}, the kernel's own page tables). They go into every trace header's
 * context as {@code kernel.symbol.NAME = hex address} (per-CPU symbols are offsets into a CPU's
 * per-CPU area): with KASLR a trace is only meaningful with the addresses of its own boot, so
 * they travel with it.
 */
public final class KernelSymbols {
    /** The functions whose addresses are recorded. */
    public static final List<String> FUNCTIONS = List.of("get_random_u8", "get_random_u16", "get_random_u32",
            "get_random_u64", "kmem_cache_alloc", "kmem_cache_alloc_lru", "kmem_cache_alloc_node", "__kmalloc",
            "__kmalloc_node", "kmalloc_trace", "kmalloc_node_trace", "kmalloc_large", "kfree", "kmem_cache_free",
            "kvmalloc_node", "kvfree", "vmalloc", "vzalloc", "__vmalloc", "vfree", "__get_free_pages", "get_zeroed_page",
            "free_pages",
            // 6.10 on: the same interfaces renamed by allocation profiling
            "kmem_cache_alloc_noprof", "kmem_cache_alloc_lru_noprof", "kmem_cache_alloc_node_noprof", "__kmalloc_noprof",
            "__kmalloc_node_noprof", "__kmalloc_cache_noprof", "__kmalloc_cache_node_noprof", "__kmalloc_large_noprof",
            "__kmalloc_large_node_noprof", "__kvmalloc_node_noprof", "vmalloc_noprof", "vzalloc_noprof", "__vmalloc_noprof",
            "get_free_pages_noprof", "get_zeroed_page_noprof");
    /**
     * The data symbols recorded: {@code __per_cpu_offset} (u64 per CPU: the base of its per-CPU
     * area), the per-CPU offsets of {@code current_task}, {@code cpu_current_top_of_stack} and
     * {@code __per_cpu_end} (the static per-CPU area's size), {@code init_task} (CPU 0's idle task),
     * {@code init_top_pgt} and {@code phys_base} (the kernel's own page tables and where the image
     * sits in physical memory), the bases of the randomisable regions, and {@code _text} (where the
     * image starts: a program's addresses are of this boot, see merger's KernelLayout).
     */
    public static final List<String> DATA = List.of("_text", "__per_cpu_offset", "current_task", "cpu_current_top_of_stack",
            "__per_cpu_end", "init_task", "init_top_pgt", "phys_base", "page_offset_base", "vmalloc_base", "vmemmap_base",
            "nr_cpu_ids", "pcpu_hot");
    /** Every symbol recorded. */
    public static final List<String> RECORDED = java.util.stream.Stream.concat(FUNCTIONS.stream(), DATA.stream()).toList();
    /** Header context key of the size of a task_struct (the guest's /proc/slabinfo object size), decimal. */
    public static final String TASK_STRUCT_SIZE = "kernel.taskStructSize";
    /** Header context key prefix. */
    public static final String KEY = "kernel.symbol.";
    /** Header context key prefix of the randomisable regions' bases as the traced boot set them (hex values, not addresses). */
    public static final String REGION_KEY = "kernel.region.";
    /** The variables holding those bases. */
    public static final List<String> REGIONS = List.of("page_offset_base", "vmalloc_base", "vmemmap_base");

    /** A kallsyms line: text (t/T), data (d/D, b/B, r/R) or an absolute per-CPU offset (A). */
    private static final Pattern LINE = Pattern.compile("([0-9a-f]{16}) ([tTdDbBrRA]) (\\S+)");

    private KernelSymbols() { }

    /** The header keys of a traced boot's kernel layout: where the image starts, the randomisable regions' bases. */
    private static final List<String> LAYOUT_KEYS = List.of(KEY + "_text", REGION_KEY + "page_offset_base",
            REGION_KEY + "vmalloc_base", REGION_KEY + "vmemmap_base");

    /**
     * The kernel layout a trace's header records, for messages ("?" for what it does not record:
     * a nokaslr boot traced before the region bases were).
     */
    public static String layout(Map<String, String> context) {
        return String.join(", ", LAYOUT_KEYS.stream()
                .map(k -> k.substring(k.lastIndexOf('.') + 1) + " " + context.getOrDefault(k, "?")).toList());
    }

    /** Whether two traces' layouts agree: equal wherever both record a value. */
    public static boolean sameLayout(Map<String, String> a, Map<String, String> b) {
        for (String k : LAYOUT_KEYS) {
            String x = a.get(k), y = b.get(k);
            if (x != null && y != null && !x.equals(y)) return false;
        }
        return true;
    }

    /**
     * Why traces of two boots cannot make one program (every address a program holds is of one
     * boot's layout), or null when their layouts agree: the slicer's and the merger's check.
     */
    public static String layoutMismatch(Map<String, String> a, Map<String, String> b) {
        return sameLayout(a, b) ? null : "traces of boots with different kernel layouts (KASLR): " + layout(a) + " and " + layout(b)
                + "; a program is trained on the runs of one boot (vmsight train --kaslr traces a boot's runs together)";
    }

    /**
     * {@code KEY + name → hex address} for each recorded symbol the guest's kallsyms lists (global
     * symbols first), and {@link #TASK_STRUCT_SIZE} from its /proc/slabinfo.
     */
    static Map<String, String> read(QemuGuest guest, Duration timeout) {
        String script = "grep -E ' [tTdDbBrRA] (" + String.join("|", RECORDED) + ")$' /proc/kallsyms; "
                + "grep '^task_struct ' /proc/slabinfo";
        String out = guest.exec(timeout, List.of("/bin/sh", "-c", script)).stdoutOrThrow("reading /proc/kallsyms in the guest");
        Map<String, String> m = parse(out);
        hotSlots(m, kernelConfig(guest));
        taskStructSize(out).ifPresent(size -> m.put(TASK_STRUCT_SIZE, String.valueOf(size)));
        return m;
    }

    /**
     * {@code REGION_KEY + name → hex value} of each {@link #REGIONS} variable, read from {@code ram}
     * at the symbols' addresses in {@code symbols} through the page tables at {@code cr3} (or the
     * kernel's own; a KASLR boot randomises these bases: a program trained there must know them to
     * be moved to another boot). Variables without a recorded symbol, or unreadable, are left out.
     */
    static Map<String, String> regionBases(dev.vmsight.vmi.phys.PhysicalMemory ram, long cr3, Map<String, String> symbols) {
        Map<String, String> out = new LinkedHashMap<>();
        var mode = dev.vmsight.vmi.paging.PagingMode.fourLevel();
        // the trainer's own page tables; under page-table isolation the kernel's copy (the even page);
        // and the kernel's own (init_top_pgt through phys_base, as a nokaslr image maps it)
        List<dev.vmsight.vmi.paging.AddressSpace> spaces = new java.util.ArrayList<>(List.of(
                dev.vmsight.vmi.paging.AddressSpace.of(ram, cr3, mode), dev.vmsight.vmi.paging.AddressSpace.of(ram, cr3 & ~0x1000L, mode)));
        String pgt = symbols.get(KEY + "init_top_pgt"), physBase = symbols.get(KEY + "phys_base");
        if (pgt != null && physBase != null) {
            try {
                long start = 0xffffffff80000000L;
                long base = ram.readLong(Long.parseUnsignedLong(physBase, 16) - start);
                spaces.add(dev.vmsight.vmi.paging.AddressSpace.of(ram, Long.parseUnsignedLong(pgt, 16) - start + base, mode));
            } catch (RuntimeException unreadable) {
                // not a nokaslr image, or no such page: the other tables decide
            }
        }
        for (String name : REGIONS) {
            String at = symbols.get(KEY + name);
            if (at == null) continue;
            long va = Long.parseUnsignedLong(at, 16);
            for (var space : spaces) {
                try {
                    out.put(REGION_KEY + name, Long.toHexString(space.readLong(va)));
                    break;
                } catch (RuntimeException e) {
                    // the next tables
                }
            }
            // unreadable through all: left out; the merger then takes a nokaslr layout, or refuses a slid image
        }
        return out;
    }

    /**
     * From 6.2 on, {@code current_task} and the stack top are fields of the per-CPU {@code struct
     * pcpu_hot} (arch/x86/include/asm/current.h): the task pointer first, then preempt_count and
     * cpu_number (4 bytes each), then call_depth (8 bytes, with call depth tracking), then
     * top_of_stack. Their per-CPU offsets are recorded under the old names, so later stages need
     * not know the series.
     */
    static void hotSlots(Map<String, String> symbols, String config) {
        String hot = symbols.get(KEY + "pcpu_hot");
        if (hot == null || symbols.containsKey(KEY + "current_task")) return;
        long base = Long.parseUnsignedLong(hot, 16);
        boolean callDepth = config.contains("\nCONFIG_MITIGATION_CALL_DEPTH_TRACKING=y") || config.contains("\nCONFIG_CALL_DEPTH_TRACKING=y");
        symbols.put(KEY + "current_task", String.format("%016x", base));
        symbols.put(KEY + "cpu_current_top_of_stack", String.format("%016x", base + (callDepth ? 24 : 16)));
    }

    /** The build config of the guest's kernel, beside its vmlinuz in the lab (empty when absent). */
    private static String kernelConfig(QemuGuest guest) {
        Path config = guest.config().kernel().resolveSibling("config");
        try {
            return Files.isRegularFile(config) ? "\n" + Files.readString(config) : "";
        } catch (IOException e) {
            return "";
        }
    }

    /** The object size of the task_struct slab cache in /proc/slabinfo text (its fourth column). */
    static java.util.OptionalInt taskStructSize(String slabinfo) {
        for (String line : slabinfo.split("\n")) {
            String[] f = line.strip().split("\\s+");
            if (f.length > 3 && f[0].equals("task_struct") && f[3].matches("\\d{1,6}")) {
                return java.util.OptionalInt.of(Integer.parseInt(f[3]));
            }
        }
        return java.util.OptionalInt.empty();
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
            boolean isGlobal = Character.isUpperCase(m.group(2).charAt(0));
            (isGlobal ? global : local).putIfAbsent(KEY + m.group(3), m.group(1));
        }
        local.forEach(global::putIfAbsent);
        return global;
    }
}
