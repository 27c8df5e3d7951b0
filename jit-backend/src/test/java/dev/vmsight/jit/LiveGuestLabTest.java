package dev.vmsight.jit;

import dev.vmsight.guests.ExecResult;
import dev.vmsight.guests.GuestConfig;
import dev.vmsight.guests.LabLayout;
import dev.vmsight.guests.QemuGuest;
import dev.vmsight.guests.QemuLauncher;
import dev.vmsight.guests.gdb.GdbClient;
import dev.vmsight.guests.vcpu.GuestVcpuStates;
import dev.vmsight.ir.sys.CpuFeatures;
import dev.vmsight.ir.sys.SystemMachine;
import dev.vmsight.ir.uop.Loc;
import dev.vmsight.ir.verify.decoder.ElfSection;
import dev.vmsight.vmi.Budget;
import dev.vmsight.vmi.paging.AddressSpace;
import dev.vmsight.vmi.phys.ElfCore;
import dev.vmsight.vmi.phys.MemoryMap;
import dev.vmsight.vmi.phys.PhysicalMemories;
import dev.vmsight.vmi.phys.PhysicalMemory;
import dev.vmsight.vmi.vcpu.VcpuState;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The kernel's own strlen, compiled from the lab vmlinux, run against a live lab guest's memory
 * (through the shared RAM file and through an ELF dump, with the guest's CR3 from the gdbstub) on
 * the kernel's linux_banner: the length and the bytes the monitor read equal the guest's own
 * /proc/version (read through qemu-guest-agent while the guest is paused).
 */
@Tag("lab")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 300)
class LiveGuestLabTest {
    static final long STACK = 0x7000_0000L, END = 0x7EAD_0000L;

    @TempDir
    Path dir;
    private LabLayout lab;
    private QemuGuest guest;

    @BeforeAll
    void boot() {
        String root = System.getProperty("vmsight.root");
        if (root == null) {
            fail("system property vmsight.root is not set (Surefire sets it to the repository root)");
        }
        lab = LabLayout.at(Path.of(root));
        try {
            lab.build(lab.pinnedKernel());
        } catch (RuntimeException e) {
            fail("the lab is not set up (run scripts/setup.sh): " + e.getMessage(), e);
        }
        GuestConfig config = lab.defaultConfig("test-jit");
        guest = QemuLauncher.start(config);
    }

    @AfterAll
    void stop() {
        if (guest != null) {
            guest.close();
        }
    }

    private long symbol(String name) {
        return symbol(guest, name);
    }

    static long symbol(dev.vmsight.guests.Guest guest, String name) {
        ExecResult r = guest.exec(Duration.ofSeconds(30), List.of("/bin/sh", "-c", "grep ' " + name + "$' /proc/kallsyms"));
        assertEquals(0, r.exitCode(), "kallsyms lookup of " + name + ": " + r.stderr());
        String line = r.stdout().lines().findFirst().orElseThrow(() -> new AssertionError("no " + name + " in /proc/kallsyms"));
        return Long.parseUnsignedLong(line.substring(0, line.indexOf(' ')), 16);
    }

    /** gettime from the kernel's own code: ktime_get_real_seconds over live memory against the guest's date. */
    @Test
    void kernelRealtimeSecondsOverLiveMemoryAgreesWithTheGuestsClock() throws Exception {
        CompiledMonitor seconds = kernelFunction(lab, symbol("ktime_get_real_seconds"), "ktime_get_real_seconds");
        long before = Long.parseLong(guest.exec(Duration.ofSeconds(30), List.of("/bin/date", "+%s")).stdout().strip());
        guest.pause();
        try {
            VcpuState cpu;
            try (GdbClient gdb = GdbClient.connect(guest.gdbSocket(), Duration.ofSeconds(10))) {
                cpu = GuestVcpuStates.capture(gdb, guest);
            }
            long ramBytes = Files.size(guest.ramFile());
            try (PhysicalMemory ram = PhysicalMemories.ramFile(guest.ramFile(), MemoryMap.identity(ramBytes))) {
                long t = call(seconds, ram, cpu, "RAM file");
                assertTrue(t >= before - 1 && t <= before + 10, "kernel xtime " + t + " vs the guest's date " + before);
                System.out.println("ktime_get_real_seconds via the RAM file: " + t + " (guest date before pausing: " + before + ")");
            }
        } finally {
            guest.resume();
        }
    }

    @Test
    void kernelStrlenOverLiveMemoryAgreesWithTheGuestsOwnView() throws Exception {
        long strlen = symbol("strlen");
        long banner = symbol("linux_banner");
        CompiledMonitor monitor = kernelStrlen(lab, strlen);

        String version = guest.exec(Duration.ofSeconds(30), List.of("/bin/cat", "/proc/version")).stdout();  // constant while up
        guest.pause();
        try {
            VcpuState cpu;
            try (GdbClient gdb = GdbClient.connect(guest.gdbSocket(), Duration.ofSeconds(10))) {
                cpu = GuestVcpuStates.capture(gdb, guest);
            }
            long ramBytes = Files.size(guest.ramFile());
            try (PhysicalMemory ram = PhysicalMemories.ramFile(guest.ramFile(), MemoryMap.identity(ramBytes))) {
                check(monitor, ram, cpu, banner, version, "RAM file");
            }
            Path core = dir.resolve("guest.core");
            guest.dumpElf(core);
            try (ElfCore elf = PhysicalMemories.elfCore(core)) {
                check(monitor, elf, cpu, banner, version, "ELF dump");
            }
        } finally {
            guest.resume();
        }
    }

    /** The kernel's strlen from the lab vmlinux (nokaslr: kallsyms addresses are the file's). */
    static CompiledMonitor kernelStrlen(LabLayout lab, long strlen) {
        return kernelFunction(lab, strlen, "strlen");
    }

    /**
     * A call-free kernel function compiled from the lab vmlinux; a leading call to __fentry__ (a nop
     * once ftrace patched it) is skipped; its ret goes to END.
     */
    static CompiledMonitor kernelFunction(LabLayout lab, long address, String name) {
        ElfSection text = ElfSection.read(lab.kernelDir(lab.pinnedKernel()).resolve("vmlinux"), ".text");
        assertTrue(address >= text.address() && address < text.end(), name + " 0x" + Long.toHexString(address)
                + " outside the vmlinux .text (a KASLR guest?)");
        byte[] code = text.bytes();
        long entry = (code[(int) (address - text.address())] & 0xFF) == 0xE8 ? address + 5 : address;
        JitProgram program = JitProgram.fromCode(a -> SystemMachine.lift(
                Arrays.copyOfRange(code, (int) (a - text.address()), (int) (a - text.address()) + 15), a, CpuFeatures.ALL),
                entry, END, a -> List.of(END));
        assertTrue(program.instructions().stream().noneMatch(i -> i.lifted().uops().stream()
                .anyMatch(u -> u.kind() == dev.vmsight.ir.uop.UopKind.CALL)), name + " calls out: " + program.instructions());
        return MonitorCompiler.compile(program);
    }

    /** A run of {@code monitor} with no arguments over {@code memory}; returns rax. */
    static long call(CompiledMonitor monitor, PhysicalMemory memory, VcpuState cpu, String via) {
        byte[] stack = new byte[4096];
        ByteBuffer.wrap(stack).order(ByteOrder.LITTLE_ENDIAN).putLong(0xF00, END);
        long[] s = new long[Loc.COUNT];
        s[4] = STACK + 0xF00;
        s[Loc.CR3] = cpu.cr3();
        s[Loc.SEL0 + 1] = 0x10;
        MonitorResult r = monitor.run(MonitorContext.of(s, new GuestPages(AddressSpace.of(memory, cpu), Map.of(STACK, stack)),
                Budget.of(1_000_000, Duration.ofSeconds(5))));
        return assertInstanceOf(MonitorResult.Completed.class, r, via).state()[0];
    }

    static void check(CompiledMonitor monitor, PhysicalMemory memory, VcpuState cpu, long banner, String version, String via) {
        byte[] stack = new byte[4096];
        ByteBuffer.wrap(stack).order(ByteOrder.LITTLE_ENDIAN).putLong(0xF00, END);
        long[] s = new long[Loc.COUNT];
        s[7] = banner;                 // rdi
        s[4] = STACK + 0xF00;          // rsp: the return address END
        s[Loc.CR3] = cpu.cr3();
        s[Loc.SEL0 + 1] = 0x10;
        PageSource pages = new GuestPages(AddressSpace.of(memory, cpu), Map.of(STACK, stack));
        long t0 = System.nanoTime();
        MonitorResult r = monitor.run(MonitorContext.of(s, pages, Budget.of(1_000_000, Duration.ofSeconds(5))));
        long took = System.nanoTime() - t0;
        MonitorResult.Completed c = assertInstanceOf(MonitorResult.Completed.class, r, via);
        byte[] want = version.getBytes(StandardCharsets.US_ASCII);
        assertEquals(want.length, c.state()[0], via + ": strlen(linux_banner) vs /proc/version (" + version.strip() + ")");
        byte[] read = new byte[want.length];
        for (int i = 0; i < read.length; i++) {
            read[i] = (byte) c.memory().read(banner + i, 1);
        }
        assertEquals(version, new String(read, StandardCharsets.US_ASCII), via);
        System.out.printf("kernel strlen(linux_banner) via %s: %d bytes in %d us (first run, cold)%n", via, c.state()[0], took / 1000);
    }
}
