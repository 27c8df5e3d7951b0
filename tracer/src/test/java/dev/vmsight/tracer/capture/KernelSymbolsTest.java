package dev.vmsight.tracer.capture;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

class KernelSymbolsTest {
    @Test
    void globalSymbolsWinAndHiddenAddressesAreNoAddress() {
        String kallsyms = """
                ffffffff816b9650 T get_random_u32
                ffffffff81000100 t kfree
                ffffffff8132f000 T kfree
                0000000000000000 T __kmalloc
                ffffffff81234560 T not_recorded
                ffffffff8132bb10 t kmem_cache_alloc
                """;
        Map<String, String> m = KernelSymbols.parse(kallsyms);
        assertEquals(Map.of(KernelSymbols.KEY + "get_random_u32", "ffffffff816b9650",
                KernelSymbols.KEY + "kfree", "ffffffff8132f000",
                KernelSymbols.KEY + "kmem_cache_alloc", "ffffffff8132bb10"), m);
    }

    @Test
    void dataAndPerCpuSymbolsAndTheTaskStructSize() {
        String out = """
                000000000001fb80 A current_task
                ffffffff8241cb60 D __per_cpu_offset
                ffffffff82a1aa40 D init_task
                ffffffff82a10000 D init_top_pgt
                ffffffff82a5b510 D pid_max
                task_struct          315    315   6208    5    8 : tunables    0    0    0 : slabdata     63     63      0
                """;
        Map<String, String> m = KernelSymbols.parse(out);
        assertEquals(Map.of(KernelSymbols.KEY + "current_task", "000000000001fb80",
                KernelSymbols.KEY + "__per_cpu_offset", "ffffffff8241cb60",
                KernelSymbols.KEY + "init_task", "ffffffff82a1aa40",
                KernelSymbols.KEY + "init_top_pgt", "ffffffff82a10000"), m);
        assertEquals(java.util.OptionalInt.of(6208), KernelSymbols.taskStructSize(out));
        assertEquals(java.util.OptionalInt.empty(), KernelSymbols.taskStructSize("kmalloc-8  1 2 8 512 1"));
    }
}
