package dev.vmsight.tracer.replay;

import dev.vmsight.tracer.lockstep.LearnedValue;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Values are found by (step, kind, args) exactly: another step, leaf or MSR is a clear miss. */
class RecordedEnvironmentTest {
    private final RecordedEnvironment env = new RecordedEnvironment(List.of(
            new LearnedValue(7, 0x1000, "CPUID", new long[]{0xd, 1}, new long[]{1, 2, 3, 4}),
            new LearnedValue(9, 0x2000, "RDMSR", new long[]{0x10}, new long[]{0x55}),
            new LearnedValue(9, 0x2000, "PORT_IN", new long[]{0x3f8, 1}, new long[]{0x41})));

    @Test
    void answersTheValueLearnedAtThatStepForThoseArguments() {
        env.atStep(7, 0x1000);
        assertArrayEquals(new long[]{1, 2, 3, 4}, env.cpuid(0xd, 1));
        assertEquals("lockstep step 7", env.lastSource());
        env.atStep(9, 0x2000);
        assertEquals(0x55, env.rdmsr(0x10));
        assertEquals(0x41, env.portIn(0x3f8, 1));
        assertEquals(0x55, env.rdmsr(0x10), "a table, not a queue: asking again gives the same value");
    }

    @Test
    void otherArgumentsOrAnotherStepAreUnknownNamingStepKindAndRip() {
        env.atStep(7, 0x1000);
        UnknownEnvironmentValueException e = assertThrows(UnknownEnvironmentValueException.class, () -> env.cpuid(0xd, 0));
        assertEquals(7, e.step());
        assertEquals("CPUID", e.kind());
        assertEquals(0x1000, e.rip());
        assertArrayEquals(new long[]{0xd, 0}, e.args());
        assertEquals("replay step 7 at rip 0x1000 needs CPUID(0xd, 0x0), which the lockstep prefix did not learn",
                e.getMessage());
        env.atStep(8, 0x2000);
        assertThrows(UnknownEnvironmentValueException.class, () -> env.rdmsr(0x10));
        assertThrows(UnknownEnvironmentValueException.class, env::rdtsc);
        assertThrows(UnknownEnvironmentValueException.class, () -> env.rdrand(8));
    }

    @Test
    void twoDifferentValuesForOneQueryAreRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new RecordedEnvironment(List.of(
                new LearnedValue(3, 0x10, "RDTSC", new long[0], new long[]{5}),
                new LearnedValue(3, 0x10, "RDTSC", new long[0], new long[]{6}))));
        assertTrue(e.getMessage().contains("step 3"), e.getMessage());
    }
}
