package dev.vmsight.vmi;

import static org.junit.jupiter.api.Assertions.*;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Step and time limits: exact for steps, within one clock interval for time. */
class BudgetTest {

    @Test
    void theStepAfterTheLimitThrowsWithTheCount() {
        Budget b = Budget.of(5000, Duration.ofMinutes(1));
        for (int i = 0; i < 5000; i++) b.step();
        BudgetExceededException e = assertThrows(BudgetExceededException.class, b::step);
        assertEquals(BudgetExceededException.Limit.STEPS, e.limit());
        assertEquals(5001, e.steps());
        assertEquals(5000, e.maxSteps());
        assertTrue(e.getMessage().contains("5001 steps > limit 5000"), e.getMessage());
        b.start();
        assertEquals(0, b.steps());
        b.step(); // a fresh run may step again
    }

    @Test
    void anEndlessLoopStopsSoonAfterTheTimeLimit() {
        Budget b = Budget.of(Long.MAX_VALUE, Duration.ofMillis(50));
        long start = System.nanoTime();
        BudgetExceededException e = assertThrows(BudgetExceededException.class, () -> {
            while (true) b.step(); // what a cyclic guest list looks like to a monitor
        });
        long ms = (System.nanoTime() - start) / 1_000_000;
        assertEquals(BudgetExceededException.Limit.TIME, e.limit());
        assertTrue(e.elapsed().toMillis() >= 50, e.elapsed().toString());
        assertTrue(ms < 1000, "stopped " + ms + " ms after a 50 ms limit");
        assertTrue(e.steps() > Budget.CLOCK_INTERVAL, "steps are counted: " + e.steps());
        assertTrue(e.getMessage().contains("limit 50 ms"), e.getMessage());
        assertInstanceOf(VmiException.class, e);
    }

    @Test
    void limitsMustBePositive() {
        assertThrows(IllegalArgumentException.class, () -> Budget.of(0, Duration.ofSeconds(1)));
        assertThrows(IllegalArgumentException.class, () -> Budget.of(1, Duration.ZERO));
    }
}
