package dev.vmsight.tracer.lockstep;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmsight.vmi.phys.MemoryMap;
import dev.vmsight.vmi.phys.PhysicalMemory;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The overlay over the live RAM: reads through, keeps our writes until QEMU's step confirms them. */
class LockstepRamTest {
    /** A RAM "file" the test plays QEMU on. */
    private final byte[] qemuRam = new byte[0x2000];
    private final LockstepRam ram = new LockstepRam(new PhysicalMemory() {
        @Override public void read(long pa, byte[] dst, int off, int len) { System.arraycopy(qemuRam, (int) pa, dst, off, len); }
        @Override public MemoryMap map() { return MemoryMap.identity(qemuRam.length); }
        @Override public int idealBatchSize() { return 4096; }
        @Override public String describe() { return "test RAM"; }
    });

    @Test
    void readsTheLiveRamUnderItsOwnWrites() {
        qemuRam[0x100] = 0x11;
        qemuRam[0x101] = 0x22;
        assertEquals(0x2211, ram.read(0x100, 2));
        ram.write(0x101, 1, 0x33);
        qemuRam[0x100] = 0x44;   // QEMU's memory changes under bytes we did not write: they read through
        assertEquals(0x3344, ram.read(0x100, 2));
        assertEquals(0x22, qemuRam[0x101], "the RAM file is never written");
    }

    @Test
    void reconcileDropsConfirmedBytesAndReportsTheOthers() {
        ram.write(0x200, 4, 0xAABBCCDDL);
        qemuRam[0x200] = (byte) 0xDD;   // QEMU wrote the same low three bytes, another top byte
        qemuRam[0x201] = (byte) 0xCC;
        qemuRam[0x202] = (byte) 0xBB;
        qemuRam[0x203] = (byte) 0x01;
        List<LockstepRam.Mismatch> m = ram.reconcile();
        assertEquals(List.of(new LockstepRam.Mismatch(0x203, 0xAA, 0x01)), m);
        assertEquals(0, ram.pending());
        qemuRam[0x203] = 0x02;
        assertEquals(0x02BBCCDDL, ram.read(0x200, 4), "after reconciling, QEMU's RAM is the truth");
    }

    @Test
    void outsideRamIsAClearError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ram.read(0x1FFC, 8));
        assertTrue(e.getMessage().contains("0x1ffc") && e.getMessage().contains("test RAM"), e.getMessage());
    }
}
