package dev.vmsight.jit;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ClassLoadingMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import org.junit.jupiter.api.Test;

/**
 * A long-lived agent reloads bundles (a guest rebooted into another kernel, a bundle retrained)
 * without restarting: each reload compiles a new hidden class. Hidden classes defined without
 * {@code ClassOption.STRONG} are unloaded once unreachable, so 1,000 reloads leave metaspace where
 * it was. (Why ASM and hidden classes without Byte Buddy: jit-backend/README.md.)
 */
class MonitorReloadTest {
    private static final int RELOADS = 1_000;

    @Test
    void aThousandReloadsUnloadTheirClassesAndLeaveMetaspaceFlat() {
        JitProgram program = HotSpotCompilationProbe.straightLine(300);
        MonitorCompiler.compile(program);   // warm the compiler's own classes
        settle();
        long before = metaspaceUsed();
        long unloadedBefore = classLoading().getUnloadedClassCount();
        long peak = before;
        for (int i = 0; i < RELOADS; i++) {
            MonitorCompiler.compile(program);   // dropped at once, as a reload drops the bundle it replaces
            if (i % 100 == 99) peak = Math.max(peak, metaspaceUsed());
        }
        settle();
        long after = metaspaceUsed();
        long unloaded = classLoading().getUnloadedClassCount() - unloadedBefore;
        System.out.printf("%d reloads: metaspace %.1f MiB before, peak %.1f MiB, %.1f MiB after GC; %d classes unloaded%n",
                RELOADS, before / 1048576.0, peak / 1048576.0, after / 1048576.0, unloaded);
        assertTrue(unloaded >= RELOADS * 9 / 10, "the generated classes were unloaded: " + unloaded + " of " + RELOADS);
        assertTrue(after - before < 4L << 20, "metaspace grew by " + (after - before) + " bytes over " + RELOADS + " reloads");
    }

    private static void settle() {
        for (int i = 0; i < 5; i++) {
            System.gc();
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static ClassLoadingMXBean classLoading() {
        return ManagementFactory.getClassLoadingMXBean();
    }

    private static long metaspaceUsed() {
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
            if (p.getName().equals("Metaspace")) return p.getUsage().getUsed();
        }
        throw new IllegalStateException("no Metaspace memory pool in this JVM");
    }
}
