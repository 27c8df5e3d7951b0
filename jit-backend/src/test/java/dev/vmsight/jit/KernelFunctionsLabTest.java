package dev.vmsight.jit;

import dev.vmsight.ir.decode.Decoder;
import dev.vmsight.ir.decode.Instruction;
import dev.vmsight.ir.interp.CodeSource;
import dev.vmsight.ir.interp.Environment;
import dev.vmsight.ir.interp.SystemLayer;
import dev.vmsight.ir.sys.CpuFeatures;
import dev.vmsight.ir.sys.SystemMachine;
import dev.vmsight.ir.uop.LiftedInstruction;
import dev.vmsight.ir.uop.Loc;
import dev.vmsight.ir.uop.UopKind;
import dev.vmsight.ir.verify.decoder.ElfSection;
import dev.vmsight.vmi.Budget;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The code generator on the Debian lab kernel's own code: functions of vmlinux's .text (entries
 * are call targets that begin with the 5-byte call to __fentry__, which ftrace patches to a nop:
 * the program starts after it) without further calls, found by {@link JitProgram#fromCode} (every
 * ret goes to the END sentinel pushed as the return address), compiled, and run over random
 * arguments pointing into a random 64 KiB arena; the oracle is ir's Interpreter under the same
 * control rules. Every run must agree: same final state and memory, or a fault at the same
 * instruction, or the same unseen path.
 */
@Tag("lab")
class KernelFunctionsLabTest {
    static final long ARENA = 0x7000_0000L, STACK_TOP = ARENA + 0xF000, END = 0x7EAD_0000L;
    static final int ARENA_PAGES = 16;

    @Test
    void kernelLeafFunctionsAgreeWithTheInterpreter() throws Exception {
        Path root = Path.of(System.getProperty("vmsight.root", "..")).toAbsolutePath().normalize();
        Properties env = new Properties();
        try (var r = Files.newBufferedReader(root.resolve("scripts/lab.env"))) {
            env.load(r);
        }
        Path vmlinux = root.resolve(".lab/kernels/linux-image-6.1.0-" + env.getProperty("VMSIGHT_KERNEL_ABI") + "-"
                + env.getProperty("VMSIGHT_KERNEL_FLAVOR") + "/vmlinux");
        if (!Files.isRegularFile(vmlinux)) {
            fail(vmlinux + " is missing: run scripts/fetch-kernel.sh (scripts/setup.sh does) before the lab tests");
        }
        ElfSection text = ElfSection.read(vmlinux, ".text");
        byte[] code = text.bytes();

        // call targets by linear sweep; the most frequent one is __fentry__
        Map<Long, Integer> targets = new HashMap<>();
        for (int off = 0; off < code.length - 5; ) {
            Instruction x;
            try {
                x = Decoder.decode(code, off, text.address() + off);
            } catch (RuntimeException e) {
                off++;
                continue;
            }
            if ((code[off] & 0xFF) == 0xE8) {
                long t = x.nextAddress() + ByteBuffer.wrap(code, off + 1, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
                if (t >= text.address() && t < text.end()) {
                    targets.merge(t, 1, Integer::sum);
                }
            }
            off += x.length();
        }
        long fentry = targets.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow().getKey();
        List<Long> entries = new ArrayList<>();
        for (long t : new TreeMap<>(targets).keySet()) {
            int off = (int) (t - text.address());
            if ((code[off] & 0xFF) == 0xE8 && text.address() + off + 5
                    + ByteBuffer.wrap(code, off + 1, 4).order(ByteOrder.LITTLE_ENDIAN).getInt() == fentry) {
                entries.add(t + 5);
            }
        }
        assertTrue(entries.size() > 10_000, "found only " + entries.size() + " functions starting with call __fentry__");

        CodeSource lift = a -> {
            int off = (int) (a - text.address());
            if (off < 0 || off >= code.length) {
                throw new IllegalArgumentException("0x" + Long.toHexString(a) + " is outside .text");
            }
            return SystemMachine.lift(Arrays.copyOfRange(code, off, Math.min(code.length, off + 15)), a, CpuFeatures.ALL);
        };
        Random rnd = new Random(6_1_0_56);
        java.util.Collections.shuffle(entries, rnd);
        int compiled = 0, runs = 0, done = 0, faults = 0, unseen = 0, long_ = 0, skipped = 0;
        long instructions = 0;
        for (long entry : entries) {
            if (compiled == 1500) {
                break;
            }
            JitProgram program;
            try {
                program = JitProgram.fromCode(lift, entry, END, a -> List.of(END));
            } catch (RuntimeException e) {       // indirect jumps, undecodable or unliftable bytes
                skipped++;
                continue;
            }
            if (program.instructions().size() > 600 || program.instructions().stream()
                    .anyMatch(i -> i.lifted().uops().stream().anyMatch(u -> u.kind() == UopKind.CALL))) {
                skipped++;
                continue;
            }
            CompiledMonitor m = MonitorCompiler.compile(program);
            compiled++;
            instructions += program.instructions().size();
            for (int run = 0; run < 3; run++) {
                Map<Long, byte[]> pages = new LinkedHashMap<>();
                for (int p = 0; p < ARENA_PAGES; p++) {
                    byte[] b = new byte[4096];
                    rnd.nextBytes(b);
                    pages.put(ARENA + 4096L * p, b);
                }
                long[] s = new long[Loc.COUNT];
                for (int l = 0; l < Loc.ARCH_COUNT; l++) {
                    s[l] = rnd.nextInt(3) == 0 ? ARENA + rnd.nextInt(ARENA_PAGES * 4096 - 0x1000) : rnd.nextInt(4) == 0 ? rnd.nextInt(64) : rnd.nextLong();
                }
                for (int f : Loc.FLAG_LOCS) {
                    s[f] = rnd.nextInt(2);
                }
                s[Loc.DF] = 0;
                s[Loc.IOPL] = 0;
                s[Loc.SEL0 + 1] = 0x10;
                s[4] = STACK_TOP;
                ByteBuffer.wrap(pages.get(STACK_TOP & ~0xFFFL)).order(ByteOrder.LITTLE_ENDIAN).putLong((int) (STACK_TOP & 0xFFF), END);
                s[Loc.RIP] = entry;
                RandomPrograms.Expected want = RandomPrograms.oracle(program, s, pages, Environment.NONE, SystemLayer.USER_MODE, 20_000);
                if (want == null) {
                    long_++;
                    continue;
                }
                MonitorResult got = m.run(MonitorContext.of(s, RandomPrograms.source(pages), Budget.of(1_000_000, Duration.ofSeconds(10))));
                RandomPrograms.Case c = new RandomPrograms.Case(program, s, pages, java.util.EnumSet.noneOf(UopKind.class));
                switch (JitEquivalenceTest.agree(c, want, got, "function 0x" + Long.toHexString(entry - 5) + " run " + run)) {
                    case 0 -> done++;
                    case 1 -> unseen++;
                    default -> faults++;
                }
                runs++;
            }
        }
        System.out.printf("kernel functions: %d compiled (%d instructions), %d skipped (calls, indirect jumps, > 600 instructions,"
                        + " unliftable); %d runs: %d completed, %d faults, %d unseen paths equal; %d runs over 20,000 instructions not compared%n",
                compiled, instructions, skipped, runs, done, faults, unseen, long_);
        assertEquals(1500, compiled);
        assertTrue(done > 300, "too few runs completed: " + done);
    }
}
