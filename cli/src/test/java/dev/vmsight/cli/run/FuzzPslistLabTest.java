package dev.vmsight.cli.run;

import dev.vmsight.jit.run.GuestSource;
import dev.vmsight.jit.run.ProgramRuns;
import dev.vmsight.jit.run.RunOutcome;
import dev.vmsight.jit.train.Training;

import static org.junit.jupiter.api.Assertions.*;

import dev.vmsight.guests.LabLayout;
import dev.vmsight.guests.TrainingProgram;
import dev.vmsight.jit.CompiledMonitor;
import dev.vmsight.merger.MergedProgram;
import dev.vmsight.vmi.Budget;
import dev.vmsight.vmi.phys.MemoryMap;
import dev.vmsight.vmi.phys.PhysicalMemory;
import dev.vmsight.vmi.snapshot.Snapshot;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Timeout;

/**
 * The compiled pslist (and getpid) monitor over corrupted guest memory, 1,200 runs each: a training START snapshot
 * (read-only) under a corrupting layer that changes only the physical pages a clean run read (the
 * task structures, the dentries, the page tables that translated them): random bytes, kernel
 * pointers swapped for other pointers of those pages (cycles and cross-links in lists), pointers
 * to unmapped or non-canonical addresses, zeroed words. Required: every run ends in a structured
 * outcome (answer, unseen path, guest error, budget) — never an exception out of the monitor, never
 * longer than its budget plus scheduling slack — and the snapshot file is byte-for-byte unchanged.
 */
@Tag("lab")
@Timeout(value = 900)
class FuzzPslistLabTest {

    static final int RUNS = 1200;
    static final Duration BUDGET = Duration.ofMillis(100);

    /** The snapshot seen through a set of corrupted pages; records the pages read. */
    private static final class Corrupted implements PhysicalMemory {
        final PhysicalMemory base;
        final Map<Long, byte[]> pages = new HashMap<>();
        final Set<Long> read = new TreeSet<>();

        Corrupted(PhysicalMemory base) { this.base = base; }

        @Override public void read(long pa, byte[] dst, int off, int len) {
            base.read(pa, dst, off, len);
            for (long p = pa & ~0xFFFL; p < pa + len; p += 4096) {
                read.add(p);
                byte[] c = pages.get(p);
                if (c == null) continue;
                long from = Math.max(p, pa), to = Math.min(p + 4096, pa + len);
                System.arraycopy(c, (int) (from - p), dst, off + (int) (from - pa), (int) (to - from));
            }
        }

        @Override public MemoryMap map() { return base.map(); }

        @Override public int idealBatchSize() { return base.idealBatchSize(); }

        @Override public String describe() { return "corrupted " + base.describe(); }

        @Override public void close() { }
    }

    private static String sha256(Path f) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        try (InputStream in = Files.newInputStream(f)) {
            byte[] b = new byte[1 << 16];
            for (int n; (n = in.read(b)) > 0; ) md.update(b, 0, n);
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static String kind(RunOutcome o) {
        if (o instanceof RunOutcome.Answered) return "answer";
        if (o instanceof RunOutcome.UnseenPath) return "unseen_path";
        if (o instanceof RunOutcome.OverBudget) return "budget_exceeded";
        return "error:" + ((RunOutcome.Failed) o).kind().toLowerCase(java.util.Locale.ROOT);
    }

    @ParameterizedTest
    @EnumSource(value = TrainingProgram.class, names = {"GETPID"})
    void corruptedMemoryGivesStructuredOutcomesWithinBudget(TrainingProgram which) throws Exception {
        fuzz(which);
    }

    /** Issue 7's fuzz acceptance on pslist: ≥ 1,000 corrupted runs, all structured, within budget, no write. */
    @ParameterizedTest
    @EnumSource(value = TrainingProgram.class, names = {"PSLIST"})
    void pslist(TrainingProgram which) throws Exception {
        fuzz(which);
    }

    private void fuzz(TrainingProgram which) throws Exception {
        String root = System.getProperty("vmsight.root");
        if (root == null) fail("system property vmsight.root is not set (Surefire sets it to the repository root)");
        LabLayout lab = LabLayout.at(Path.of(root));
        Training.Trained t = Training.train(lab, which, 3, Training.DEFAULT_POLICY);
        MergedProgram program = t.program();
        CompiledMonitor monitor = ProgramRuns.compile(program);
        Path snapFile = t.corpus().get(0).snapshot();
        String hashBefore = sha256(snapFile);

        Map<String, Integer> kinds = new TreeMap<>();
        long worstMicros = 0;
        try (Snapshot snap = Snapshot.open(snapFile)) {
            Corrupted mem = new Corrupted(snap);
            GuestSource source = new GuestSource("fuzzed snapshot", mem, snap.registers(), false, () -> { });
            RunOutcome clean = ProgramRuns.runJit(program, monitor, source, null, Budget.of(50_000_000, Duration.ofSeconds(5)));
            assertInstanceOf(RunOutcome.Answered.class, clean, "clean run: " + clean.toText());
            List<Long> touched = new ArrayList<>(mem.read);
            // kernel-pointer-looking words of the touched pages: the links the walk follows
            List<long[]> pointers = new ArrayList<>();  // {page, offset, value}
            byte[] page = new byte[4096];
            for (long p : touched) {
                snap.read(p, page, 0, 4096);
                ByteBuffer b = ByteBuffer.wrap(page).order(ByteOrder.LITTLE_ENDIAN);
                for (int o = 0; o < 4096; o += 8) {
                    long v = b.getLong(o);
                    if ((v >>> 47) == 0x1FFFFL && v != -1L) pointers.add(new long[] {p, o, v});
                }
            }
            System.out.printf("clean " + which.fileName() + ": %s; %d physical pages read, %d kernel pointers in them%n",
                    clean.toText().replace('\n', ' '), touched.size(), pointers.size());
            assertFalse(pointers.isEmpty(), "no kernel pointers in the pages the monitor read");

            Random rnd = new Random(0x5EED);
            for (int run = 0; run < RUNS; run++) {
                mem.pages.clear();
                int strategy = run % 4;
                int edits = 1 + rnd.nextInt(8);
                for (int e = 0; e < edits; e++) {
                    long[] ptr = pointers.get(rnd.nextInt(pointers.size()));
                    long pageAddr = strategy == 0 ? touched.get(rnd.nextInt(touched.size())) : ptr[0];
                    int off = strategy == 0 ? rnd.nextInt(4096 / 8) * 8 : (int) ptr[1];
                    long value = switch (strategy) {
                        case 0 -> rnd.nextLong();                                                   // random bytes anywhere read
                        case 1 -> pointers.get(rnd.nextInt(pointers.size()))[2];                   // cross-links and cycles
                        case 2 -> rnd.nextBoolean() ? 0xffffc9ff_0000_0000L | (rnd.nextLong() & 0xffff_fff8L)  // unmapped
                                : 0x0000_7f00_0000_0000L ^ rnd.nextLong();                         // user-half or non-canonical
                        default -> 0L;                                                             // NULL links
                    };
                    byte[] c = mem.pages.computeIfAbsent(pageAddr, a -> {
                        byte[] copy = new byte[4096];
                        snap.read(a, copy, 0, 4096);
                        return copy;
                    });
                    ByteBuffer.wrap(c).order(ByteOrder.LITTLE_ENDIAN).putLong(off, value);
                }
                long t0 = System.nanoTime();
                RunOutcome o = ProgramRuns.runJit(program, monitor, source, null, Budget.of(10_000_000, BUDGET));
                long micros = (System.nanoTime() - t0) / 1000;
                worstMicros = Math.max(worstMicros, micros);
                assertTrue(micros < BUDGET.toMillis() * 1000 * 3 + 500_000, "run " + run + " took " + micros + " µs, budget " + BUDGET);
                kinds.merge(kind(o) + " (strategy " + strategy + ")", 1, Integer::sum);
            }
        }
        assertEquals(hashBefore, sha256(snapFile), "the snapshot file changed");
        System.out.println(which.fileName() + " fuzz, " + RUNS + " runs over corrupted copies of " + snapFile.getFileName() + ", worst run "
                + worstMicros + " µs:");
        kinds.forEach((k, n) -> System.out.printf("  %-40s %5d%n", k, n));
        assertEquals(RUNS, kinds.values().stream().mapToInt(Integer::intValue).sum());
    }
}
