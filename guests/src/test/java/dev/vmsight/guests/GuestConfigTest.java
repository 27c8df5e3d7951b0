package dev.vmsight.guests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The kernel command line a configuration implies, and the dentry hash table size training boots vary. */
class GuestConfigTest {
    private static final GuestConfig BASE = new GuestConfig("lab", Path.of("/k/vmlinuz"), Path.of("/i/initramfs.cpio.gz"), 256, 1,
            false, 10, Path.of("/run/x"));

    @Test
    void theKernelSizesItsDentryHashTableUnlessTold() {
        assertEquals("console=ttyS0 panic=-1 nokaslr vmsight.procs=10", BASE.kernelCommandLine());
        GuestConfig sparse = BASE.withDentryHashEntries(1 << 20);
        assertTrue(sparse.kernelCommandLine().endsWith(" dhash_entries=1048576"), sparse.kernelCommandLine());
        // every other change keeps it
        assertEquals(1 << 20, sparse.withProcs(3).withCpus(2).withKaslr(true).withName("x").withCpuModel("Skylake-Server-v4")
                .withMemoryMiB(512).withRunDir(Path.of("/run/y")).dentryHashEntries());
        assertFalse(sparse.withDentryHashEntries(0).kernelCommandLine().contains("dhash"));
    }

    @Test
    void aDentryHashSizeThatIsNoPowerOfTwoIsRefused() {
        var e = assertThrows(IllegalArgumentException.class, () -> BASE.withDentryHashEntries(1000));
        assertTrue(e.getMessage().contains("power of two") && e.getMessage().contains("1000"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> BASE.withDentryHashEntries(-4));
    }
}
