package dev.vmsight.merger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmsight.vmi.phys.MemoryMap;
import dev.vmsight.vmi.phys.PhysicalMemory;
import dev.vmsight.vmi.vcpu.VcpuState;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/**
 * Where a run finds the kernel's page tables on a KASLR boot when no placement proved
 * {@code phys_base} (the self-check and calibration run on the training boot's own snapshots).
 * The guest below is a KASLR boot in miniature: the image slid 512 MiB virtually and loaded at
 * 8 MiB physically, and the unslid physical place of {@code phys_base} reads 0, as free memory
 * often does. A CI run took that 0 for a proof and read {@code init_top_pgt} from memory that was
 * not the image.
 */
class RunContextTest {
    private static final long START = 0xffffffff80000000L;
    private static final long SLIDE = 0x20000000L;
    private static final long TEXT = KernelLayout.NOKASLR.text() + SLIDE;
    private static final long IMAGE_PA = 0x800000L;
    private static final long PHYS_BASE = IMAGE_PA - (TEXT - START);    // negative: the image sits lower than its slide
    private static final long PHYS_BASE_SYM = TEXT + 0x100000;
    private static final long INIT_TOP_PGT = TEXT + 0x200000;
    private static final long PER_CPU_OFFSET = TEXT + 0x300000;
    private static final long PER_CPU_BASE = TEXT + 0x400000;
    private static final long CURRENT_TASK_SLOT = 0x100;
    private static final long RUNNING = TEXT + 0x500000;
    private static final long INIT_TASK = TEXT + 0x600000;
    private static final KernelLayout LAYOUT = new KernelLayout(TEXT, 0xffff8dc380000000L, 0xffffb00000000000L, 0xffffd30000000000L);

    /** 4 GiB of guest RAM that reads 0 except where the test wrote. */
    private static final class SparseMemory implements PhysicalMemory {
        final Map<Long, byte[]> pages = new HashMap<>();

        void putLong(long pa, long value) {
            byte[] page = pages.computeIfAbsent(pa >>> 12, k -> new byte[4096]);
            for (int i = 0; i < 8; i++) page[(int) (pa & 0xFFF) + i] = (byte) (value >>> (8 * i));
        }

        @Override public void read(long pa, byte[] dst, int off, int len) {
            for (int i = 0; i < len; i++) {
                byte[] page = pages.get((pa + i) >>> 12);
                dst[off + i] = page == null ? 0 : page[(int) ((pa + i) & 0xFFF)];
            }
        }

        @Override public MemoryMap map() { return MemoryMap.identity(1L << 32); }

        @Override public int idealBatchSize() { return 4096; }

        @Override public String describe() { return "sparse test RAM"; }
    }

    private static long pa(long imageVa) { return imageVa - START + PHYS_BASE; }

    private static int index(long va, int level) { return (int) (va >>> (12 + 9 * (level - 1))) & 511; }

    /** The guest: init_top_pgt maps the image's 8 MiB with 2 MiB pages; the per-CPU area and tasks live in the image. */
    private static SparseMemory guest() {
        SparseMemory m = new SparseMemory();
        long root = pa(INIT_TOP_PGT);
        long pdpt = 0x1800000L;
        long pd = 0x1801000L;
        m.putLong(root + 8L * index(TEXT, 4), pdpt | 3);
        m.putLong(pdpt + 8L * index(TEXT, 3), pd | 3);
        for (int i = 0; i < 4; i++) {
            m.putLong(pd + 8L * (index(TEXT, 2) + i), (IMAGE_PA + ((long) i << 21)) | 0x83);
        }
        m.putLong(pa(PHYS_BASE_SYM), PHYS_BASE);
        m.putLong(pa(PER_CPU_OFFSET), PER_CPU_BASE);
        m.putLong(pa(PER_CPU_BASE + CURRENT_TASK_SLOT), RUNNING);
        return m;
    }

    private static VcpuState vcpu(long cr3) {
        Map<String, Long> regs = new LinkedHashMap<>();
        regs.put("cr0", 0x80050033L);
        regs.put("cr3", cr3);
        regs.put("cr4", 0x6f0L);
        regs.put("efer", 0xd01L);
        return new VcpuState("test vCPU", regs);
    }

    private static final RunContext CONTEXT = new RunContext(PER_CPU_OFFSET, CURRENT_TASK_SLOT, INIT_TASK, INIT_TOP_PGT, PHYS_BASE_SYM,
            RunContext.Task.INIT_TASK, LAYOUT, RunContext.RegionSymbols.NONE);

    @Test
    void aKaslrBootsPageTablesAreFoundThroughTheVcpusTablesNotAtTheUnslidPlace() {
        SparseMemory m = guest();
        assertEquals(0, m.readLong(PHYS_BASE_SYM - START), "the unslid place reads 0, the trap");
        RunContext.Attached a = CONTEXT.attach(m, vcpu(pa(INIT_TOP_PGT)), 0);
        assertEquals(pa(INIT_TOP_PGT), a.vcpu().get("cr3"));
        assertEquals(PER_CPU_BASE, a.perCpuBase());
        assertEquals(INIT_TASK, a.task());
        assertTrue(a.describe().contains("init_top_pgt at physical 0x" + Long.toHexString(pa(INIT_TOP_PGT))), a.describe());
    }

    @Test
    void aUserCopyOfThePageTablesLeadsToTheKernelsCopy() {
        SparseMemory m = guest();
        // page-table isolation: the vCPU holds the user copy (the odd page), which maps nothing of the image here
        RunContext.Attached a = CONTEXT.attach(m, vcpu(pa(INIT_TOP_PGT) | 0x1000), 0);
        assertEquals(pa(INIT_TOP_PGT), a.vcpu().get("cr3"));
    }

    @Test
    void aProvenPhysBaseIsUsedAsGiven() {
        RunContext.Attached a = CONTEXT.attach(guest(), vcpu(0x5000), 0, OptionalLong.of(PHYS_BASE));
        assertEquals(pa(INIT_TOP_PGT), a.vcpu().get("cr3"));
    }

    @Test
    void aKaslrContextWithoutAProofUsesTheVcpusTablesAndSaysSoWhenTheyFail() {
        // the vCPU's CR3 points at an empty table: no proof, and no unslid guess on a KASLR context
        RunContext.ContextException e = assertThrows(RunContext.ContextException.class,
                () -> CONTEXT.attach(guest(), vcpu(0x5000), 0));
        assertTrue(e.getMessage().contains("the vCPU's CR3"), e.getMessage());
    }
}
