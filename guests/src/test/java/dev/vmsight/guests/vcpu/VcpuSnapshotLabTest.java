package dev.vmsight.guests.vcpu;

import static org.junit.jupiter.api.Assertions.*;

import dev.vmsight.guests.GuestConfig;
import dev.vmsight.guests.LabLayout;
import dev.vmsight.guests.QemuGuest;
import dev.vmsight.guests.QemuLauncher;
import dev.vmsight.guests.gdb.GdbClient;
import dev.vmsight.vmi.GuestMemoryException;
import dev.vmsight.vmi.paging.AddressSpace;
import dev.vmsight.vmi.phys.ElfCore;
import dev.vmsight.vmi.phys.MemoryMap;
import dev.vmsight.vmi.phys.PhysicalMemories;
import dev.vmsight.vmi.phys.PhysicalMemory;
import dev.vmsight.vmi.snapshot.Snapshot;
import dev.vmsight.vmi.snapshot.SnapshotSummary;
import dev.vmsight.vmi.snapshot.SnapshotWriter;
import dev.vmsight.vmi.vcpu.VcpuState;
import dev.vmsight.vmi.vcpu.VcpuStates;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * vmi-runtime against a real guest held stopped by the gdbstub: the vCPU state from gdbstub + HMP
 * against the ELF core's notes; AddressSpace over the RAM file, the ELF core and a snapshot against
 * the gdbstub's own virtual-memory reads (QEMU's MMU); a snapshot of the 256 MiB RAM file against
 * the file itself, with its write time, size and read latency printed.
 */
@Tag("lab")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 300)
class VcpuSnapshotLabTest {
    @TempDir Path dir;
    private QemuGuest guest;

    @BeforeAll
    void boot() {
        String root = System.getProperty("vmsight.root");
        if (root == null) fail("system property vmsight.root is not set (Surefire sets it to the repository root)");
        LabLayout lab = LabLayout.at(Path.of(root));
        try {
            lab.build(lab.pinnedKernel());
        } catch (RuntimeException e) {
            fail("the lab is not set up (run scripts/setup.sh): " + e.getMessage(), e);
        }
        GuestConfig config = lab.defaultConfig("test-vcpu").withProcs(4).withCpus(2); // capture must find the right vCPU
        guest = QemuLauncher.start(config);
    }

    @AfterAll
    void stop() {
        if (guest != null) guest.close();
    }

    @Test
    void providersAgreeAndEveryMemorySourceReadsWhatQemusMmuReads() throws IOException {
        guest.exec(Duration.ofSeconds(30), List.of("/bin/sh", "-c", "ls /proc > /dev/null")); // a guest that has run userland
        try (GdbClient gdb = GdbClient.connect(guest.gdbSocket(), Duration.ofSeconds(10))) {
            VcpuState cpu = GuestVcpuStates.capture(gdb, guest);
            assertEquals(List.of(), cpu.missing(), "gdbstub + HMP give every register");

            Path core = dir.resolve("guest.core");
            guest.dumpElf(core);
            try (ElfCore elf = PhysicalMemories.elfCore(core)) {
                // the core has one note pair per vCPU: the stopped one is the one with the gdbstub's rip and rsp
                VcpuState fromCore = elf.cpus().stream().map(c -> VcpuStates.fromCore(c, "ELF core"))
                        .filter(c -> c.rip() == cpu.rip() && c.rsp() == cpu.rsp()).findFirst()
                        .orElseThrow(() -> new AssertionError("no vCPU of the core has the gdbstub's rip/rsp: " + elf.cpus()));
                assertEquals(2, elf.cpus().size());
                int compared = 0;
                for (String name : fromCore.registers().keySet()) {
                    if (cpu.find(name).isPresent()) {
                        assertEquals(cpu.get(name), fromCore.get(name), name + ": gdbstub/HMP vs ELF core note");
                        compared++;
                    }
                }
                assertTrue(compared >= 30, compared + " registers compared with the core");
                assertTrue(fromCore.missing().contains("efer"), "QEMU's note has no EFER");

                long ramBytes = Files.size(guest.ramFile());
                try (PhysicalMemory ram = PhysicalMemories.ramFile(guest.ramFile(), MemoryMap.identity(ramBytes))) {
                    SnapshotSummary written = SnapshotWriter.write(dir.resolve("start.vmsnap"),
                            Map.of("kernel", "6.1.0-56-amd64", "test", getClass().getSimpleName()), cpu, ram);
                    System.out.println("snapshot of the " + (ramBytes >> 20) + " MiB RAM file: " + written);
                    try (Snapshot snap = Snapshot.open(written.file())) {
                        assertEquals(cpu.registers(), snap.registers().registers());
                        sameBytes(ram, snap, ramBytes);
                        readLatency(ram, snap, ramBytes);
                        for (PhysicalMemory source : List.of(ram, elf, snap)) {
                            matchesQemusMmu(gdb, cpu, source);
                        }
                    }
                }
            }
        }
    }

    /** Kernel text at RIP, the stack at RSP, the GDT and IDT, per-CPU data at GS base: as the gdbstub reads them. */
    private static void matchesQemusMmu(GdbClient gdb, VcpuState cpu, PhysicalMemory source) {
        AddressSpace space = AddressSpace.of(source, cpu);
        for (String reg : List.of("rip", "rsp", "gdt_base", "idt_base", "gs_base", "tr_base")) {
            long va = cpu.get(reg);
            byte[] want = gdb.readMemory(va, 256);
            assertArrayEquals(want, space.readBytes(va, 256), reg + " 0x" + Long.toHexString(va) + " via " + source.describe());
        }
        // below mmap_min_addr nothing is ever mapped; the second address is not canonical
        GuestMemoryException e = assertThrows(GuestMemoryException.class, () -> space.readLong(0x1010));
        assertEquals(GuestMemoryException.Kind.NOT_PRESENT, e.kind());
        assertThrows(GuestMemoryException.class, () -> space.readLong(0x8000_0000_0000_0000L));
    }

    private static void sameBytes(PhysicalMemory ram, Snapshot snap, long size) {
        byte[] a = new byte[1 << 20], b = new byte[1 << 20];
        for (long at = 0; at < size; at += a.length) {
            ram.read(at, a, 0, a.length);
            snap.read(at, b, 0, b.length);
            if (!Arrays.equals(a, b)) fail("snapshot differs from the RAM file in MiB " + (at >> 20));
        }
        assertEquals(snap.storedPages(), snap.verify());
    }

    /** Random reads of stored (non-zero) pages, each once with its group's cache dropped and once cached. */
    private static void readLatency(PhysicalMemory ram, Snapshot snap, long size) {
        Random r = new Random(3);
        int n = 300;
        long[] cold = new long[n], warm = new long[n];
        byte[] page = new byte[4096];
        for (int i = 0; i < n; ) {
            long at = (r.nextLong() & Long.MAX_VALUE) % (size / 4096) * 4096;
            ram.read(at, page, 0, 4096);
            if (Arrays.equals(page, new byte[4096])) continue;
            snap.clearCache();
            long t0 = System.nanoTime();
            snap.read(at, page, 0, 4096);
            long t1 = System.nanoTime();
            snap.read(at, page, 0, 4096);
            warm[i] = System.nanoTime() - t1;
            cold[i++] = t1 - t0;
        }
        Arrays.sort(cold);
        Arrays.sort(warm);
        System.out.printf("snapshot random 4 KiB read of a stored page: median %.1f us inflating its group (p90 %.1f us), %.2f us cached%n",
                cold[n / 2] / 1e3, cold[n * 9 / 10] / 1e3, warm[n / 2] / 1e3);
    }
}
