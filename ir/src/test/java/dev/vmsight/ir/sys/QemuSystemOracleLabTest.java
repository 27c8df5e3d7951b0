package dev.vmsight.ir.sys;

import dev.vmsight.ir.interp.Environment;
import dev.vmsight.ir.interp.MachineState;
import dev.vmsight.ir.uop.Loc;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * QEMU as the oracle for the system half: a multiboot stub (longmode.S, assembled here with
 * binutils; once with 4-level and once with 5-level paging) enters long mode with its own GDT, IDT, TSS and page tables, then runs a window that
 * runs with SMEP and SMAP on and uses 4 KiB, 2 MiB and 1 GiB pages (A/D bits, a supervisor write
 * to a read-only page with WP: #PF, a SMAP #PF and a stac/clac-bracketed read of a user page,
 * fetch faults from a no-execute page and (SMEP) from a user page, a #UD at CPL 0 on a
 * misaligned stack, FS loads,
 * a PTE change with invlpg), iretqs to user mode, a #GP whose gate is not present (#NP, so #DF
 * on IST2, whose handler repairs the gate and retries), takes a #PF on an IST stack, a syscall/sysretq round trip (swapgs, rdmsr,
 * mov cr3, invlpg, pushf/popf, gs-relative per-CPU accesses in the handler), #GP from cli
 * and from int $0x80 through a DPL-0 gate, an int3 trap, a #UD, popf at CPL 3 and a second #PF,
 * each handler returning with iretq. QEMU's gdbstub single-steps the window; the SystemMachine
 * steps the same instructions over the shared RAM file (read-only, under a copy-on-write
 * overlay) and every register is compared after every step.
 */
@Tag("lab")
class QemuSystemOracleLabTest {
    private static final int[] GDB_GPR_ORDER = {0, 3, 1, 2, 6, 7, 5, 4, 8, 9, 10, 11, 12, 13, 14, 15};
    /** gdb's segment order (cs ss ds es fs gs) as Loc selector slots. */
    private static final int[] GDB_SEL_ORDER = {1, 2, 3, 0, 4, 5};
    private static final long RAM = 64 << 20;

    @ParameterizedTest(name = "{0}-level paging")
    @ValueSource(ints = {4, 5})
    void systemHalfMatchesQemuStepByStep(int levels) throws Exception {
        Path work = Files.createTempDirectory("vmsight-sysoracle");
        Path ram = Path.of("/dev/shm", "vmsight-sysoracle-" + ProcessHandle.current().pid());
        Process qemu = null;
        try {
            Map<String, Long> sym = build(work, levels == 5);
            Path socket = work.resolve("gdb.sock");
            qemu = new ProcessBuilder("qemu-system-x86_64", "-S", "-nodefaults", "-display", "none",
                    "-machine", "pc", "-cpu", levels == 5 ? "qemu64,+pdpe1gb,+smap,+smep,+la57" : "qemu64,+pdpe1gb,+smap,+smep", "-m", "64M", "-kernel", work.resolve("lm.elf").toString(),
                    "-object", "memory-backend-file,id=mem,size=64M,mem-path=" + ram + ",share=on",
                    "-machine", "memory-backend=mem", "-gdb", "unix:" + socket + ",server=on,wait=off",
                    "-monitor", "none", "-serial", "none")
                    .redirectErrorStream(true).redirectOutput(work.resolve("qemu.log").toFile()).start();
            waitFor(socket, qemu, work);
            try (GdbWire gdb = new GdbWire(socket, 20_000)) {
                assertEquals("OK", gdb.command("Z1," + Long.toHexString(sym.get("window")) + ",1"));
                String stop = gdb.command("c");
                assertTrue(stop.startsWith("T05") || stop.startsWith("S05"), "stop reply " + stop);
                assertEquals("OK", gdb.command("z1," + Long.toHexString(sym.get("window")) + ",1"));
                MachineState state = new MachineState();
                load(state, gdb.command("g"));
                assertEquals(sym.get("window"), state.rip());
                assertEquals(levels == 5, (state.get(Loc.CR4) & Mmu.CR4_LA57) != 0, "CR4.LA57 as QEMU set it");
                // MSRs the gdbstub does not show: the values the stub wrote
                state.set(Loc.STAR, 0x0023_0010_0000_0000L).set(Loc.LSTAR, sym.get("syscall_entry")).set(Loc.SFMASK, 0x47700);
                SystemTables tables = new SystemTables(sym.get("gdt"), 0x4f, sym.get("idt"), 0xfff, sym.get("tss"));
                try (FileChannel ch = FileChannel.open(ram, StandardOpenOption.READ)) {
                    MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_ONLY, 0, RAM);
                    map.order(ByteOrder.LITTLE_ENDIAN);
                    MappedRam ramFile = new MappedRam(map);
                    CopyOnWritePhysMem overlay = (CopyOnWritePhysMem) PhysMem.copyOnWrite(ramFile);
                    SystemMachine machine = new SystemMachine(state, overlay, Environment.NONE, tables);
                    List<Integer> vectors = new ArrayList<>();
                    List<String> gateErrorDeviations = new ArrayList<>();
                    int steps = 0;
                    int emptySteps = 0;
                    while (state.rip() != sym.get("window_end")) {
                        assertTrue(steps < 500, "window_end not reached in 500 steps");
                        MachineState qemuBefore = state.copy();
                        Step step = machine.step();   // first: it reads memory as QEMU had it before the step
                        step.deliveries().forEach(d -> vectors.add(d.vector()));
                        MachineState qemuState = stepQemu(gdb, qemuBefore);
                        // QEMU 7.2 under host load sometimes answers a step with a stop before the
                        // instruction ran (the vCPU was kicked first): every register as before. No
                        // instruction of the window leaves them all unchanged, so step QEMU again.
                        for (int retry = 0; retry < 3 && diff(qemuBefore, qemuState).isEmpty(); retry++) {
                            emptySteps++;
                            qemuState = stepQemu(gdb, qemuBefore);
                        }
                        steps++;
                        String diff = diff(state, qemuState);
                        if (isQemuGateErrorCode(state, qemuState)) {
                            // QEMU 7.2 pushes vector*16+2 for a gate error (do_interrupt64); the SDM
                            // (vol. 3 §6.13) and CPUs push vector*8+2. Ours follows the SDM: the one
                            // register this reaches is taken from QEMU, and the test asserts it happened once.
                            gateErrorDeviations.add("r13 ours 0x" + Long.toHexString(state.gpr(13)) + " qemu 0x"
                                    + Long.toHexString(qemuState.gpr(13)));
                            state.setGpr(13, qemuState.gpr(13));
                            diff = diff(state, qemuState);
                        }
                        if (!diff.isEmpty()) {
                            fail("divergence at step " + steps + ":\n" + step.describe() + diff);
                        }
                    }
                    // memory: every page we wrote (stacks, frames, per-CPU data, page tables with A/D bits) as QEMU left it
                    List<String> memoryDiffs = new ArrayList<>();
                    for (long page : overlay.ownedPageNumbers()) {
                        for (long pa = page << 12; pa < (page + 1) << 12; pa += 8) {
                            if (overlay.read(pa, 8) != ramFile.read(pa, 8)) {
                                memoryDiffs.add(String.format("pa 0x%x ours 0x%x qemu 0x%x", pa, overlay.read(pa, 8), ramFile.read(pa, 8)));
                            }
                        }
                    }
                    // the one expected difference is the same gate error code, pushed on the kernel stack
                    assertEquals(1, memoryDiffs.size(), "memory written by the interpreter differs from QEMU's: " + memoryDiffs);
                    assertTrue(memoryDiffs.get(0).endsWith("ours 0x402 qemu 0x802"), memoryDiffs.get(0));
                    assertTrue(overlay.ownedPageNumbers().contains(sym.get("pt") >>> 12), "the walk set A/D bits in the page table");
                    assertEquals(0x1111, overlay.read(0x800000, 8));
                    assertEquals(0x21, overlay.read(sym.get("pt") + 8, 8) & 0x63, "read-only leaf: P and A, no D");
                    assertEquals(levels == 5 ? 57 : 48, machine.pagingFormat().linearBits());
                    System.out.printf("QEMU system oracle (" + levels + "-level): %d steps equal to QEMU's (%d empty QEMU steps repeated), exceptions delivered %s, %d written pages compared with the RAM file%n",
                            steps, emptySteps, vectors, overlay.ownedPageNumbers().size());
                    assertEquals(List.of(14, 14, 14, 14, 6, 14, 8, 13, 3, 13, 6, 14), vectors);
                    assertEquals(0x5150, state.gpr(0), "the syscall handler read gs:8 of the per-CPU page");
                    assertEquals(0x600008, state.gpr(2), "the #PF handler read CR2");
                    assertEquals(4, state.gpr(12), "the #PF error code: user read, not present");
                    assertEquals(List.of("r13 ours 0x402 qemu 0x802"), gateErrorDeviations,
                            "#GP error code of int $0x80 through a DPL-0 gate: the SDM's 0x80*8+2 against QEMU's 0x80*16+2");
                    assertEquals(sym.get("syscall_entry"), state.get(Loc.LSTAR));
                }
                try {
                    gdb.command("k");
                } catch (java.io.IOException gone) {
                    // QEMU already closed the stub (under load it may exit first): what 'k' asks for is done
                }
            }
        } finally {
            if (qemu != null) {
                qemu.destroy();
                if (!qemu.waitFor(10, TimeUnit.SECONDS)) {
                    qemu.destroyForcibly();
                }
            }
            Files.deleteIfExists(ram);
        }
    }

    /** Assembles and links longmode.S (a 64-bit link turned into the ELF32 QEMU's multiboot loader wants). */
    private static Map<String, Long> build(Path work, boolean la57) throws Exception {
        try (InputStream in = QemuSystemOracleLabTest.class.getResourceAsStream("longmode.S")) {
            Files.write(work.resolve("lm.S"), in.readAllBytes());
        }
        run(work, "as", "--64", "--defsym", "LA57=" + (la57 ? 1 : 0), "-o", "lm.o", "lm.S");
        run(work, "ld", "-m", "elf_x86_64", "-Ttext=0x100000", "--section-start=.user=0x400000", "-o", "lm64.elf", "lm.o");
        run(work, "objcopy", "-O", "elf32-i386", "lm64.elf", "lm.elf");
        Map<String, Long> sym = new HashMap<>();
        for (String line : run(work, "nm", "lm64.elf").split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length == 3) {
                sym.put(f[2], Long.parseUnsignedLong(f[0], 16));
            }
        }
        return sym;
    }

    private static String run(Path dir, String... cmd) throws Exception {
        Process p;
        try {
            p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new IllegalStateException("lab tool '" + cmd[0] + "' is missing (scripts/setup.sh installs binutils and QEMU): " + e.getMessage(), e);
        }
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + " failed: " + out);
        }
        return out;
    }

    private static void waitFor(Path socket, Process qemu, Path work) throws Exception {
        long deadline = System.currentTimeMillis() + 20_000;
        while (!Files.exists(socket)) {
            if (!qemu.isAlive() || System.currentTimeMillis() > deadline) {
                fail("QEMU did not open its gdbstub socket " + socket + ": " + Files.readString(work.resolve("qemu.log")));
            }
            Thread.sleep(20);
        }
    }

    private static long le(String hex, int offset, int size) {
        long v = 0;
        for (int i = size - 1; i >= 0; i--) {
            v = v << 8 | Integer.parseInt(hex.substring(2 * (offset + i), 2 * (offset + i) + 2), 16);
        }
        return v;
    }

    /** QEMU 7.2's x86-64 'g' layout (LAB-NOTES): GPRs, rip, eflags, selectors, bases, CRs, efer. */
    private static void load(MachineState s, String g) {
        for (int i = 0; i < 16; i++) {
            s.setGpr(GDB_GPR_ORDER[i], le(g, 8 * i, 8));
        }
        s.setRip(le(g, 128, 8));
        s.setRflags(le(g, 136, 4));
        for (int i = 0; i < 6; i++) {
            s.set(Loc.SEL0 + GDB_SEL_ORDER[i], le(g, 140 + 4 * i, 4));
        }
        s.set(Loc.FS_BASE, le(g, 164, 8)).set(Loc.GS_BASE, le(g, 172, 8)).set(Loc.KERNEL_GS_BASE, le(g, 180, 8));
        int[] crs = {Loc.CR0, Loc.CR2, Loc.CR3, Loc.CR4, Loc.CR8, Loc.EFER};
        for (int i = 0; i < crs.length; i++) {
            s.set(crs[i], le(g, 188 + 8 * i, 8));
        }
    }

    /** One gdbstub single-step, and QEMU's registers after it. */
    private static MachineState stepQemu(GdbWire gdb, MachineState before) throws IOException {
        String reply = gdb.command("s");
        assertTrue(reply.startsWith("T05") || reply.startsWith("S05"), "step reply " + reply + " at rip 0x" + Long.toHexString(before.rip()));
        MachineState qemuState = new MachineState();
        load(qemuState, gdb.command("g"));
        return qemuState;
    }

    /** Exactly the known QEMU deviation: only r13 (the popped #GP error code) differs, as vector*16+2 vs *8+2. */
    private static boolean isQemuGateErrorCode(MachineState ours, MachineState qemu) {
        long o = ours.gpr(13);
        long q = qemu.gpr(13);
        if (o == q || (o & 7) != 2 || q != ((o - 2) * 2 + 2)) {
            return false;
        }
        MachineState copy = ours.copy();
        copy.setGpr(13, q);
        return diff(copy, qemu).isEmpty();
    }

    private static String diff(MachineState ours, MachineState qemu) {
        StringBuilder d = new StringBuilder();
        List<Integer> locs = new ArrayList<>();
        for (int i = 0; i < 17; i++) {
            locs.add(i);
        }
        for (int i = 0; i < 6; i++) {
            locs.add(Loc.SEL0 + i);
        }
        locs.addAll(List.of(Loc.FS_BASE, Loc.GS_BASE, Loc.KERNEL_GS_BASE, Loc.CR0, Loc.CR2, Loc.CR3, Loc.CR4, Loc.CR8, Loc.EFER));
        for (int loc : locs) {
            if (ours.get(loc) != qemu.get(loc)) {
                d.append(String.format("  %-8s ours 0x%x qemu 0x%x%n", Loc.name(loc), ours.get(loc), qemu.get(loc)));
            }
        }
        if (ours.rflags() != qemu.rflags()) {
            d.append(String.format("  rflags   ours 0x%x qemu 0x%x%n", ours.rflags(), qemu.rflags()));
        }
        return d.toString();
    }

    /** The RAM file, read-only: writes go to the copy-on-write overlay above it. */
    private record MappedRam(MappedByteBuffer map) implements PhysMem {
        @Override
        public long read(long pa, int size) {
            if (pa < 0 || pa + size > RAM) {
                throw new IllegalArgumentException("physical address 0x" + Long.toHexString(pa) + " outside the 64 MiB RAM file");
            }
            return switch (size) {
                case 1 -> map.get((int) pa) & 0xFFL;
                case 2 -> map.getShort((int) pa) & 0xFFFFL;
                case 4 -> map.getInt((int) pa) & 0xFFFF_FFFFL;
                default -> map.getLong((int) pa);
            };
        }

        @Override
        public void write(long pa, int size, long value) {
            throw new UnsupportedOperationException("the RAM file is never written");
        }

        @Override
        public long size() { return RAM; }
    }
}
