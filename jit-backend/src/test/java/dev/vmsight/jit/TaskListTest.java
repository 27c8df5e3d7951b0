package dev.vmsight.jit;

import dev.vmsight.vmi.Budget;
import dev.vmsight.vmi.phys.PhysicalMemories;
import dev.vmsight.vmi.phys.PhysicalMemory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Real x86-64 code (a Linux-style task-list walk, lifted by SystemMachine.lift) compiled and run
 * over real page tables in a raw image mapped read-only: the answer equals the list the fixture
 * built and the interpreter's; corrupted guest memory never crashes, hangs or writes.
 */
class TaskListTest {
    @TempDir
    Path dir;

    @Test
    void walkReturnsTheGroundTruthAndTheInterpretersAnswer() throws Exception {
        TaskListGuest g = new TaskListGuest(100, 1);
        try (PhysicalMemory ram = PhysicalMemories.rawImage(g.writeImage(dir))) {
            CompiledMonitor m = MonitorCompiler.compile(TaskListGuest.program(JitProgram.OnUnseen.THROW));
            MonitorResult.Completed r = assertInstanceOf(MonitorResult.Completed.class,
                    m.run(TaskListGuest.context(g.state(), ram, TaskListGuest.budget())));
            assertEquals(g.pids, TaskListGuest.output(r));
            assertEquals(g.pids, TaskListGuest.interpret(g.state(), ram, 1_000_000));
            assertEquals(1, r.memory().overlay().size(), "only the output page was written");
        }
    }

    /** Issue 7 deliver 6: at least 1,000 runs over corrupted lists. */
    @Test
    void corruptedGuestMemoryGivesStructuredResultsNeverACrashHangOrWrite() throws Exception {
        TaskListGuest g = new TaskListGuest(60, 2);
        Path image = g.writeImage(dir);
        byte[] original = Files.readAllBytes(image);
        CompiledMonitor m = MonitorCompiler.compile(TaskListGuest.program(JitProgram.OnUnseen.THROW));
        Random rnd = new Random(42);
        Map<String, Integer> outcomes = new java.util.TreeMap<>();
        Duration maxTime = Duration.ofMillis(300);
        long slowest = 0;
        try (PhysicalMemory ram = PhysicalMemories.rawImage(image);
             FileChannel guest = FileChannel.open(image, StandardOpenOption.WRITE)) {
            for (int run = 0; run < 1200; run++) {
                int victim = rnd.nextInt(60);
                int at = TaskListGuest.nextPointerPa(victim);
                String kind;
                ByteBuffer patch = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
                switch (rnd.nextInt(6)) {
                    case 5 -> {
                        kind = "skip (a hidden task)";
                        patch.putLong(victim + 2 < 60 ? g.taskListHeadVa(victim + 2) : g.head());
                    }
                    case 0 -> {
                        kind = "random bytes";
                        byte[] junk = new byte[8];
                        rnd.nextBytes(junk);
                        patch.put(junk);
                    }
                    case 1 -> {
                        kind = "cycle";
                        patch.putLong(g.taskListHeadVa(rnd.nextInt(victim + 1)));
                    }
                    case 2 -> {
                        kind = "unmapped";
                        patch.putLong(TaskListGuest.DIRECT_MAP + 0x40_0000L + rnd.nextInt(1 << 20) * 8L);
                    }
                    case 3 -> {
                        kind = "non-canonical";
                        patch.putLong(0x8000_0000_0000_0000L | rnd.nextLong() >>> 8);
                    }
                    default -> {
                        kind = "into the image";
                        patch.putLong(TaskListGuest.DIRECT_MAP + rnd.nextInt(TaskListGuest.IMAGE - 8));
                    }
                }
                guest.write(patch.flip(), at);      // the "guest" changes its memory; we only map it read-only
                long t0 = System.nanoTime();
                // 1,000 steps: the 60-task walk takes 60; a cycle runs into it before overflowing the 1,024-PID buffer
                MonitorResult r = m.run(TaskListGuest.context(g.state(), ram, Budget.of(1_000, maxTime)));
                long took = System.nanoTime() - t0;
                slowest = Math.max(slowest, took);
                String outcome = r.getClass().getSimpleName();
                if (r instanceof MonitorResult.Completed c) {
                    assertEquals(TaskListGuest.interpret(g.state(), ram, 2_000_000), TaskListGuest.output(c),
                            kind + " run " + run + ": a completed run must agree with the interpreter");
                } else if (r instanceof MonitorResult.Failed f) {
                    assertEquals(MonitorFault.Kind.MEMORY, f.fault().kind(), kind + ": " + f.fault().getMessage());
                    assertNotNull(f.fault().site());
                    outcome += "/" + ((dev.vmsight.vmi.GuestMemoryException) f.fault().getCause()).kind();
                } else if (r instanceof MonitorResult.OverBudget o) {
                    assertNotNull(o.cause().limit());
                } else {
                    fail(kind + " run " + run + ": unexpected " + r);
                }
                outcomes.merge(kind + " -> " + outcome, 1, Integer::sum);
                assertTrue(took < maxTime.toNanos() + Duration.ofSeconds(2).toNanos(), kind + ": took " + took / 1_000_000 + " ms");
                guest.write(ByteBuffer.wrap(original, at, 8), at);
            }
        }
        assertArrayEquals(original, Files.readAllBytes(image), "the monitor never wrote to the guest");
        System.out.println("fuzz outcomes (1200 runs, slowest " + slowest / 1_000_000 + " ms): " + outcomes);
        assertTrue(outcomes.keySet().stream().anyMatch(k -> k.startsWith("cycle -> OverBudget")), outcomes.toString());
        assertTrue(outcomes.keySet().stream().anyMatch(k -> k.startsWith("skip (a hidden task) -> Completed")), outcomes.toString());
        assertTrue(outcomes.keySet().stream().anyMatch(k -> k.contains("NOT_PRESENT")), outcomes.toString());
        assertTrue(outcomes.keySet().stream().anyMatch(k -> k.contains("NON_CANONICAL")), outcomes.toString());
    }
}
