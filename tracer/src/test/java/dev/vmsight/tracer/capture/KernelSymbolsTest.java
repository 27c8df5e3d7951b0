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
}
