package dev.vmsight.guests.libvirt;

import static org.junit.jupiter.api.Assertions.*;

import dev.vmsight.guests.GuestConfig;
import dev.vmsight.guests.LabLayout;
import dev.vmsight.guests.TrainingProgram;
import dev.vmsight.guests.TrainingProgramChecks;
import dev.vmsight.vmi.phys.CachingPhysicalMemory;
import dev.vmsight.vmi.phys.CoreCpuState;
import dev.vmsight.vmi.phys.ElfCore;
import dev.vmsight.vmi.phys.MemoryMap;
import dev.vmsight.vmi.phys.PhysicalMemories;
import dev.vmsight.vmi.phys.PhysicalMemory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.libvirt.Connect;

/**
 * One real lab guest as a libvirt domain (libvirtd started by scripts/libvirtd-up.sh): the six
 * training programs through qemu-guest-agent, and the same guest-physical bytes through
 * memoryPeek, the shared RAM file and a memory-only ELF core.
 */
@Tag("lab")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LibvirtGuestLabTest {
    private LibvirtGuest guest;
    private GuestConfig config;

    @BeforeAll
    void boot() {
        LabLayout lab = LabLayout.locate();
        LibvirtLab.libvirtdUp(lab);
        LibvirtLab.removeStaleTestDomains();
        config = LibvirtLab.config(lab, "lvguest");
        long t0 = System.nanoTime();
        guest = LibvirtGuest.start(config, LibvirtLab.URI);
        System.out.printf("libvirt guest %s booted to VMSIGHT-READY + guest-ping in %.1f s%n", config.name(), (System.nanoTime() - t0) / 1e9);
    }

    /**
     * Stops the guest the way `vmsight lab boot --libvirt` + `lab stop` would: this handle
     * disconnects (the domain must keep running), a fresh attach closes it (the domain must be
     * gone). Whatever fails, the domain is destroyed and undefined before the class ends.
     */
    @AfterAll
    void destroy() throws Exception {
        if (guest == null) return;
        guest.disconnect();
        try {
            assertTrue(domainExists(true), "disconnect() must leave the domain running");
            LibvirtGuest.attach(LibvirtLab.URI, config.name()).close();
            assertFalse(domainExists(false), "domain still running or defined after attach().close()");
        } finally {
            if (domainExists(false)) {
                Connect c = new Connect(LibvirtLab.URI);
                try {
                    var d = c.domainLookupByName(config.name());
                    if (d.isActive() == 1) d.destroy();
                    d.undefine();
                } finally {
                    c.close();
                }
            }
        }
    }

    private boolean domainExists(boolean runningOnly) throws Exception {
        Connect c = new Connect(LibvirtLab.URI);
        try {
            for (int id : c.listDomains()) if (c.domainLookupByID(id).getName().equals(config.name())) return true;
            return !runningOnly && Arrays.asList(c.listDefinedDomains()).contains(config.name());
        } finally {
            c.close();
        }
    }

    @ParameterizedTest
    @EnumSource(TrainingProgram.class)
    void trainingProgramRunsThroughTheAgent(TrainingProgram program) {
        TrainingProgramChecks.check(guest, program);
    }

    @Test
    void execReportsExitCodeAndStderr() {
        var r = guest.exec(Duration.ofSeconds(10), List.of("/bin/sh", "-c", "echo out; echo err >&2; exit 3"));
        assertEquals(3, r.exitCode());
        assertEquals("out\n", r.stdout());
        assertEquals("err\n", r.stderr());
    }

    @Test
    void ramFileIsTheSharedBackendQemuMapped() throws Exception {
        Path ram = guest.ramFile();
        assertEquals((long) config.memoryMiB() << 20, Files.size(ram), "RAM file size = guest memory");
        long qemuPid = Long.parseLong(Files.readString(Path.of("/run/libvirt/qemu/" + config.name() + ".pid")).strip());
        String maps = Files.readString(Path.of("/proc/" + qemuPid + "/maps"));
        assertTrue(maps.lines().anyMatch(l -> l.endsWith(ram.toString()) && l.split("\\s+")[1].contains("s")),
                "QEMU (pid " + qemuPid + ") maps " + ram + " shared");
        MemoryMap map = guest.memoryMap();
        assertEquals(0, map.segments().get(0).physStart());
        assertEquals((long) config.memoryMiB() << 20, map.size(), "below the PCI hole all RAM is mapped: " + map);
    }

    /** Several ranges, ≥ 1 MiB in all: kernel image, 64 KiB boundaries, page tables, the top of RAM. */
    private List<long[]> ranges(long cr3) {
        long top = (long) config.memoryMiB() << 20;
        List<long[]> r = new ArrayList<>();
        r.add(new long[] {0x0, 0x1000});                       // real-mode IVT / BIOS data area
        r.add(new long[] {0x1000000, 0x80000});                // nokaslr kernel image: start of .text
        r.add(new long[] {0x2000000 - 0x1234, 0x30000 + 77});  // unaligned, across three 64 KiB boundaries
        r.add(new long[] {0x3000000, 0x40000});                // kernel data / direct-mapped RAM
        r.add(new long[] {cr3 & ~0xfffL, 0x1000});              // the current PML4
        r.add(new long[] {top - 0x40000, 0x40000});            // the last 256 KiB of RAM
        return r;
    }

    @Test
    void samePhysicalBytesThroughPeekRamFileAndElfCore() throws Exception {
        Path core = config.runDir().resolve("core.elf");
        guest.pause();
        try (PhysicalMemory peek = guest.physicalMemory(); PhysicalMemory file = guest.ramFileMemory()) {
            String regs = guest.hmp("info registers");
            long t0 = System.nanoTime();
            guest.dumpElf(core);
            long dumpNs = System.nanoTime() - t0;
            try (ElfCore elf = PhysicalMemories.elfCore(core)) {
                CoreCpuState cpu = elf.cpus().get(0);
                assertEquals(hmpRegister(regs, "CR3"), cpu.cr3(), "ELF core note vs HMP info registers");
                assertEquals(hmpRegister(regs, "RIP"), cpu.rip());
                assertEquals(hmpRegister(regs, "RSP"), cpu.rsp());

                CachingPhysicalMemory cached = new CachingPhysicalMemory(peek, 1024);
                long total = 0, peekNs = 0, fileNs = 0;
                for (long[] range : ranges(cpu.cr3())) {
                    int len = (int) range[1];
                    long a = System.nanoTime();
                    byte[] viaPeek = peek.readFully(range[0], len);
                    long b = System.nanoTime();
                    byte[] viaFile = file.readFully(range[0], len);
                    long c = System.nanoTime();
                    byte[] viaElf = elf.readFully(range[0], len);
                    peekNs += b - a;
                    fileNs += c - b;
                    String where = "guest-physical 0x" + Long.toHexString(range[0]) + "+0x" + Integer.toHexString(len);
                    assertArrayEquals(viaFile, viaPeek, "memoryPeek vs RAM file at " + where);
                    assertArrayEquals(viaFile, viaElf, "ELF core vs RAM file at " + where);
                    assertArrayEquals(viaFile, cached.readFully(range[0], len), "cached memoryPeek at " + where);
                    total += len;
                }
                assertTrue(total >= 1 << 20, "at least 1 MiB compared");
                // The kernel image range must hold real content, not an all-zero page of a broken read.
                byte[] text = file.readFully(0x1000000, 0x80000);
                long nonZero = 0;
                for (byte x : text) if (x != 0) nonZero++;
                assertTrue(nonZero > text.length / 4, "kernel .text at 0x1000000 is mostly zero: " + nonZero);
                System.out.printf("compared %d bytes: memoryPeek %.1f ms, RAM file %.3f ms, ELF dump %.0f ms; cache: %d base reads for %d pages%n",
                        total, peekNs / 1e6, fileNs / 1e6, dumpNs / 1e6, cached.baseReads(), cached.misses());
            }
        } finally {
            guest.resume();
            Files.deleteIfExists(core);
        }
    }

    private static long hmpRegister(String regs, String name) {
        Matcher m = Pattern.compile("\\b" + name + "=([0-9a-f]+)").matcher(regs);
        assertTrue(m.find(), "no " + name + " in info registers: " + regs);
        return Long.parseUnsignedLong(m.group(1), 16);
    }

    @Test
    void readingOutsideRamNamesTheAddress() throws Exception {
        try (PhysicalMemory peek = guest.physicalMemory()) {
            long top = (long) config.memoryMiB() << 20;
            var e = assertThrows(dev.vmsight.vmi.phys.PhysicalMemoryException.class, () -> peek.readFully(top - 8, 16));
            assertEquals(top, e.address());
            assertTrue(e.getMessage().contains("0x" + Long.toHexString(top)) && e.getMessage().contains(config.name()), e.getMessage());
        }
    }

    @Test
    void attachSeesTheSameDomain() {
        LibvirtGuest other = LibvirtGuest.attach(LibvirtLab.URI, config.name());
        try {
            assertEquals(config.kernel().toAbsolutePath(), other.config().kernel());
            assertEquals(config.memoryMiB(), other.config().memoryMiB());
            assertEquals(config.procs(), other.config().procs());
            assertEquals("attached\n", other.exec(Duration.ofSeconds(10), List.of("/bin/echo", "attached")).stdout());
        } finally {
            other.disconnect(); // leave the class's guest running
        }
        assertEquals("still\n", guest.exec(Duration.ofSeconds(10), List.of("/bin/echo", "still")).stdout(),
                "disconnecting the attached handle must not stop the guest");
    }
}
