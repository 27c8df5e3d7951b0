package dev.vmsight.tracer.capture;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.vmsight.guests.LabLayout;
import dev.vmsight.guests.QemuGuest;
import dev.vmsight.guests.TrainingProgram;
import dev.vmsight.tracer.lockstep.Lockstep;
import dev.vmsight.tracer.trace.InstructionEvent;
import dev.vmsight.tracer.trace.TraceEvent;
import dev.vmsight.tracer.trace.TraceFiles;
import dev.vmsight.tracer.trace.TraceReader;
import dev.vmsight.tracer.trace.TraceSummary;
import dev.vmsight.vmi.snapshot.Snapshot;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * Traces on one booted guest: pslist, getpid and gettime, three varied runs each, every one with
 * fidelity (the replayed output buffer equals the one the guest left at END, and the program's
 * own printed answer agrees), the trace file's counts consistent with its events; a trainer
 * that cannot reach END within its budget is stopped with a clear error.
 */
@Tag("lab")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TracerLabTest {
    private static final int RUNS = 3;

    private LabLayout lab;
    private QemuGuest guest;
    private Tracer tracer;
    private Path out;
    private long booted;
    private double firstRunAfterBoot = -1;

    @BeforeAll
    void boot() throws Exception {
        String root = System.getProperty("vmsight.root");
        if (root == null) fail("system property vmsight.root is not set (Surefire sets it to the repository root)");
        lab = LabLayout.at(Path.of(root));
        out = Files.createDirectories(Path.of(root, "tracer", "target", "lab-traces"));
        try {
            guest = Lockstep.bootGuest(lab, "test-tracer");
        } catch (RuntimeException e) {
            fail("the lab is not set up (run scripts/setup.sh): " + e.getMessage(), e);
        }
        booted = System.nanoTime();
        tracer = new Tracer(guest, lab, TraceOptions.DEFAULTS.withSaveSnapshot(true), System.out);
    }

    @AfterAll
    void stop() {
        if (tracer != null) {
            tracer.resetWorkload();
        }
        if (guest != null) {
            guest.close();
        }
    }

    @Test
    @Order(1)
    @Timeout(300)
    void pslistThreeVariedRunsWithFidelity() {
        List<TracedRun> runs = traceRuns(TrainingProgram.PSLIST);
        System.out.printf("pslist: first trace (%,d instructions) done %.1f s after boot (acceptance: < 60 s)%n",
                runs.get(0).summary().instructions(), firstRunAfterBoot);
        for (TracedRun r : runs) {
            // the program's own printed PIDs are the ints of the output buffer
            ByteBuffer b = ByteBuffer.wrap(r.expectedOutput()).order(ByteOrder.LITTLE_ENDIAN);
            List<String> pids = new ArrayList<>();
            while (b.remaining() >= 4) pids.add("pid=" + b.getInt());
            List<String> printed = r.programOutput().lines().filter(l -> l.startsWith("pid=")).toList();
            assertEquals(printed, pids, "pslist's printed PIDs are its output buffer");
            assertTrue(r.summary().instructions() > 10_000, r.line());
        }
        assertTrue(Snapshot.open(runs.get(0).snapshot()).storedPages() > 1000, "the START snapshot holds the guest's RAM");
    }

    @Test
    @Order(2)
    @Timeout(120)
    void getpidThreeVariedRunsWithFidelity() {
        for (TracedRun r : traceRuns(TrainingProgram.GETPID)) {
            long pid = ByteBuffer.wrap(r.expectedOutput()).order(ByteOrder.LITTLE_ENDIAN).getLong();
            assertEquals("pid=" + pid, r.programOutput().strip());
        }
    }

    @Test
    @Order(3)
    @Timeout(120)
    void gettimeThreeVariedRunsWithFidelity() {
        for (TracedRun r : traceRuns(TrainingProgram.GETTIME)) {
            long time = ByteBuffer.wrap(r.expectedOutput()).order(ByteOrder.LITTLE_ENDIAN).getLong();
            assertEquals("time=" + time, r.programOutput().strip());
        }
    }

    @Test
    @Order(4)
    @Timeout(120)
    void aTrainerThatCannotReachEndWithinItsBudgetIsStoppedAndReported() {
        Tracer small = new Tracer(guest, lab, TraceOptions.DEFAULTS.withMaxInstructions(50).withMinPrefixSteps(10), System.out);
        Path file = out.resolve("budget.trace");
        TraceBudgetException e = assertThrows(TraceBudgetException.class,
                () -> small.trace(TrainingProgram.PSLIST, List.of(), Variation.BASELINE, 0, file));
        assertTrue(e.getMessage().contains("/training/pslist") && e.getMessage().contains("did not reach END")
                && e.getMessage().contains("50 instructions"), e.getMessage());
        String left = guest.exec(Duration.ofSeconds(20), List.of("/bin/sh", "-c", "pidof pslist || echo none")).stdout().strip();
        assertEquals("none", left, "the stopped trainer is gone from the guest");
    }

    /**
     * A replay whose output differs from the guest's (one byte flipped after the real replay) is
     * rejected: the file is renamed *.rejected, and the full lockstep run that looks for the first
     * divergence reports that QEMU and the interpreter agree (the fault was in the replay's result).
     */
    @Test
    @Order(5)
    @Timeout(120)
    void aReplayThatDisagreesWithTheGuestIsRejectedAndLocksteppedToFindWhy() {
        ReplayStage flipping = (request, sink, progress) -> {
            ReplayStage.Outcome o = ReplayStages.standard().replay(request, sink, progress);
            byte[] wrong = o.output().clone();
            wrong[0] ^= 1;
            return new ReplayStage.Outcome(o.instructions(), o.uops(), o.kernelInstructions(), o.userInstructions(),
                    o.distinctSites(), o.deliveries(), o.translations(), o.envInputs(), o.reachedEnd(), wrong, o.seconds());
        };
        Tracer t = new Tracer(guest, lab, TraceOptions.DEFAULTS, System.out, flipping, ReplayStages::traceFile);
        Path file = out.resolve("rejected-getpid.trace");
        TracedRun r = t.trace(TrainingProgram.GETPID, List.of(), Variation.BASELINE, 0, file);
        System.out.println(r.line() + "\n  " + r.divergence());
        assertTrue(!r.fidelity() && !Files.exists(file) && r.trace().getFileName().toString().endsWith(".trace.rejected"), r.line());
        assertTrue(r.divergence().contains("differs from the guest's") && r.divergence().contains("0 divergences")
                && r.divergence().contains("reached END"), r.divergence());
        try (TraceReader rejected = TraceFiles.open(r.trace())) {
            assertTrue(!rejected.summary().fidelity(), "the rejected file says so itself");
        }
    }

    private List<TracedRun> traceRuns(TrainingProgram program) {
        List<TracedRun> runs = new ArrayList<>();
        for (int i = 0; i < RUNS; i++) {
            TracedRun r = tracer.trace(program, List.of(), Variation.cycle(i), i, out.resolve(program.fileName() + "-run-" + i + ".trace"));
            System.out.println(r.line());
            if (firstRunAfterBoot < 0) {
                firstRunAfterBoot = (System.nanoTime() - booted) / 1e9;
            }
            r.learned().forEach(l -> System.out.println("  " + l));
            assertTrue(r.fidelity(), r.line() + "\n" + r.divergence());
            assertEquals(0, r.exitCode(), r.programOutput());
            checkFile(r);
            runs.add(r);
        }
        System.out.printf("%s: %d runs with fidelity, %.1f s after boot%n", program.fileName(), RUNS, (System.nanoTime() - booted) / 1e9);
        return runs;
    }

    /** The file's summary against its own events (what trace-info --verify checks), and the expected answer in its header. */
    private static void checkFile(TracedRun r) {
        try (TraceReader t = TraceFiles.open(r.trace())) {
            TraceSummary s = t.summary();
            assertTrue(s.fidelity() && s.reachedEnd(), r.line());
            assertArrayEquals(r.expectedOutput(), t.header().expectedOutput().bytes());
            assertArrayEquals(s.replayedOutput(), t.header().expectedOutput().bytes());
            assertEquals(s.instructions(), s.kernelInstructions() + s.userInstructions(), "kernel + user = total");
            assertTrue(s.uops() >= s.instructions(), "µops >= instructions: " + s);
            long instructions = 0, uops = 0, kernel = 0;
            for (Iterator<TraceEvent> it = t.forward(); it.hasNext(); ) {
                if (it.next() instanceof InstructionEvent e) {
                    instructions++;
                    uops += e.uops().size();
                    kernel += e.kernel() ? 1 : 0;
                }
            }
            assertEquals(s.instructions(), instructions, "instruction events in " + r.trace());
            assertEquals(s.uops(), uops, "µop executions in " + r.trace());
            assertEquals(s.kernelInstructions(), kernel, "kernel instructions in " + r.trace());
            assertTrue(kernel > 0 && instructions - kernel > 0, "user and kernel both traced");
        }
    }
}
