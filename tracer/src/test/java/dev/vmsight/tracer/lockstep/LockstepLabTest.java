package dev.vmsight.tracer.lockstep;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.vmsight.guests.LabLayout;
import dev.vmsight.guests.QemuGuest;
import dev.vmsight.guests.TrainingProgram;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
 * The lockstep oracle against QEMU on one guest: getpid and gettime from START to END, pslist
 * for a step budget. Every register is compared after every step; a divergence or an
 * instruction the interpreter cannot execute fails the test with the report.
 */
@Tag("lab")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LockstepLabTest {
    /** pslist's window is ~250k instructions: this budget keeps the suite within minutes of CI. */
    static final long PSLIST_BUDGET = Long.getLong("vmsight.lockstep.pslistSteps", 100_000);
    /** The acceptance target: instructions verified across the three programs. */
    static final long COVERAGE_TARGET = 100_000;
    /** More than either whole window (getpid, gettime are a few thousand at most). */
    static final long WINDOW_BUDGET = 200_000;

    private LabLayout lab;
    private QemuGuest guest;
    private final Map<String, Long> covered = new LinkedHashMap<>();

    @BeforeAll
    void boot() {
        String root = System.getProperty("vmsight.root");
        if (root == null) fail("system property vmsight.root is not set (Surefire sets it to the repository root)");
        lab = LabLayout.at(Path.of(root));
        try {
            guest = Lockstep.bootGuest(lab, "test-lockstep");
        } catch (RuntimeException e) {
            fail("the lab is not set up (run scripts/setup.sh): " + e.getMessage(), e);
        }
    }

    @AfterAll
    void stop() {
        long total = covered.values().stream().mapToLong(Long::longValue).sum();
        covered.forEach((p, n) -> System.out.printf("lockstep coverage: %-8s %,9d instructions%n", p, n));
        System.out.printf("lockstep coverage: total    %,9d instructions without divergence%n", total);
        if (guest != null) guest.close();
    }

    @Test
    @Order(1)
    @Timeout(120)
    void getpidWholeWindow() {
        LockstepResult r = verify(TrainingProgram.GETPID, WINDOW_BUDGET);
        assertTrue(r.reachedEnd(), r.summary());
        assertTrue(r.kernelSteps() > 0 && r.userSteps() > 0, "the window crosses into the kernel: " + r.summary());
        assertTrue(r.programOutput().startsWith("pid="), r.programOutput());
    }

    @Test
    @Order(2)
    @Timeout(120)
    void gettimeWholeWindow() {
        LockstepResult r = verify(TrainingProgram.GETTIME, WINDOW_BUDGET);
        assertTrue(r.reachedEnd(), r.summary());
        assertTrue(r.kernelSteps() > 0, r.summary());
        assertTrue(r.programOutput().startsWith("time="), r.programOutput());
    }

    @Test
    @Order(3)
    @Timeout(600)
    void pslistForItsBudget() {
        LockstepResult r = verify(TrainingProgram.PSLIST, PSLIST_BUDGET);
        assertEquals(PSLIST_BUDGET, r.steps(), "pslist's window is longer than the budget: " + r.summary());
        assertTrue(r.programOutput().startsWith("self="), r.programOutput());
    }

    @Test
    @Order(4)
    void coverageTargetReached() {
        long total = covered.values().stream().mapToLong(Long::longValue).sum();
        assertEquals(List.of("getpid", "gettime", "pslist"), List.copyOf(covered.keySet()),
                "every program verified without divergence (see the tests above)");
        assertTrue(total >= COVERAGE_TARGET, "lockstep verified " + total + " instructions, target " + COVERAGE_TARGET
                + " (pslist budget " + PSLIST_BUDGET + ")");
    }

    private LockstepResult verify(TrainingProgram program, long budget) {
        LockstepResult r = Lockstep.run(guest, lab, program, List.of(), budget, System.out, false);
        System.out.println(r.summary());
        r.learned().forEach(l -> System.out.println("  learned " + l));
        if (!r.divergences().isEmpty()) {
            fail(r.summary() + "\nfirst divergence:\n" + r.divergences().get(0));
        }
        assertEquals(0, r.exitCode(), program.guestPath() + " after lockstep: " + r.programOutput());
        covered.put(program.fileName(), r.steps());
        return r;
    }
}
