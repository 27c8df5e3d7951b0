package dev.vmsight.tracer.capture;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

class KernelSymbolsTest {
    @Test
    void tracesAgreeOnTheirLayoutWhereBothRecordIt() {
        String text = KernelSymbols.KEY + "_text", pob = KernelSymbols.REGION_KEY + "page_offset_base";
        Map<String, String> nokaslr = Map.of(text, "ffffffff81000000", pob, "ffff888000000000");
        Map<String, String> older = Map.of(text, "ffffffff81000000");              // traced before region bases were recorded
        Map<String, String> slid = Map.of(text, "ffffffff96000000", pob, "ffff9e8b40000000");
        org.junit.jupiter.api.Assertions.assertTrue(KernelSymbols.sameLayout(nokaslr, older));
        org.junit.jupiter.api.Assertions.assertFalse(KernelSymbols.sameLayout(nokaslr, slid));
        org.junit.jupiter.api.Assertions.assertFalse(KernelSymbols.sameLayout(older, slid));
        assertEquals("_text ffffffff96000000, page_offset_base ffff9e8b40000000, vmalloc_base ?, vmemmap_base ?", KernelSymbols.layout(slid));
        org.junit.jupiter.api.Assertions.assertNull(KernelSymbols.layoutMismatch(nokaslr, older));
        String why = KernelSymbols.layoutMismatch(nokaslr, slid);
        org.junit.jupiter.api.Assertions.assertTrue(why.contains("_text ffffffff81000000") && why.contains("_text ffffffff96000000"), why);
    }

    @Test
    void aKaslrCorpusTracesWholeBoots() {
        assertEquals(java.util.List.of(0, 1, 2, 3), TrainingCorpus.wholeBoots(java.util.List.of(2), 8));
        assertEquals(java.util.List.of(0, 1, 2, 3, 4, 5, 6, 7), TrainingCorpus.wholeBoots(java.util.List.of(1, 6), 8));
        assertEquals(java.util.List.of(8, 9), TrainingCorpus.wholeBoots(java.util.List.of(9), 10));
        assertEquals(java.util.List.of(), TrainingCorpus.wholeBoots(java.util.List.of(), 8));
    }

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

    /** 6.12 (Debian 6.12.118): current_task and the stack top are fields of pcpu_hot; call depth tracking moves the stack top. */
    @Test
    void theHotPerCpuStructOfNewerKernelsGivesTheSameSlots() {
        Map<String, String> m = new java.util.HashMap<>(KernelSymbols.parse("""
                00000000000351c0 A const_pcpu_hot
                00000000000351c0 A pcpu_hot
                0000000000039000 A __per_cpu_end
                """));
        KernelSymbols.hotSlots(m, "\nCONFIG_MITIGATION_CALL_DEPTH_TRACKING=y\n");
        assertEquals("00000000000351c0", m.get(KernelSymbols.KEY + "current_task"));
        assertEquals("00000000000351d8", m.get(KernelSymbols.KEY + "cpu_current_top_of_stack"));
        Map<String, String> without = new java.util.HashMap<>(Map.of(KernelSymbols.KEY + "pcpu_hot", "00000000000351c0"));
        KernelSymbols.hotSlots(without, "\n# CONFIG_MITIGATION_CALL_DEPTH_TRACKING is not set\n");
        assertEquals("00000000000351d0", without.get(KernelSymbols.KEY + "cpu_current_top_of_stack"));
        // a 6.1 kernel has its own current_task: left as it is
        Map<String, String> old = new java.util.HashMap<>(Map.of(KernelSymbols.KEY + "current_task", "000000000001fb80",
                KernelSymbols.KEY + "pcpu_hot", "0000000000020000"));
        KernelSymbols.hotSlots(old, "");
        assertEquals("000000000001fb80", old.get(KernelSymbols.KEY + "current_task"));
    }
}
