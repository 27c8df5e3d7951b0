package dev.vmsight.tracer.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Variations: each cycle position differs, and each shell command really runs the program with the given descriptors. */
class VariationTest {

    @Test
    void consecutiveRunsDifferInEveryCycledDimension() {
        Set<String> contexts = new HashSet<>();
        for (int i = 0; i < 4; i++) {
            Variation a = Variation.cycle(i), b = Variation.cycle(i + 1);
            assertTrue(a.launcher() != b.launcher(), "launcher of runs " + i + " and " + (i + 1));
            assertTrue(a.extraSleepers() != b.extraSleepers(), "workload of runs " + i + " and " + (i + 1));
            assertTrue(!a.openFiles().equals(b.openFiles()), "open files of runs " + i + " and " + (i + 1));
            contexts.add(a.context().toString());
        }
        assertEquals(4, contexts.size());
    }

    /** The host's /bin/sh stands in for the guest's busybox sh: the command must run argv and keep its exit code. */
    @Test
    void everyLauncherRunsTheProgramWithItsDescriptorsAndExitCode() throws Exception {
        for (Variation.Launcher l : Variation.Launcher.values()) {
            Variation v = new Variation(0, l, List.of("3</proc/version", "5</"), 0);
            String cmd = v.shellCommand(List.of("/bin/sh", "-c", "ls /proc/self/fd; exit 7"));
            Process p = new ProcessBuilder("/bin/sh", "-c", cmd).redirectErrorStream(true).start();
            assertTrue(p.waitFor(10, TimeUnit.SECONDS), cmd);
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(7, p.exitValue(), l + ": " + cmd + " printed " + out);
            Set<String> fds = Set.of(out.trim().split("\\s+"));
            assertTrue(fds.contains("3") && fds.contains("5"), l + ": descriptors 3 and 5 open in the program, got " + fds);
        }
    }

    @Test
    void badVariationsAreRefusedWithTheReason() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Variation(0, Variation.Launcher.EXEC, List.of(), 1))
                .getMessage().contains("1-vCPU"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> new Variation(0, Variation.Launcher.EXEC, List.of("3</x; rm -rf /"), 0)).getMessage().contains("N<path"));
        assertThrows(IllegalArgumentException.class, () -> new Variation(-1, Variation.Launcher.EXEC, List.of(), 0));
    }

    @Test
    void argumentsWithSpacesAreQuoted() throws IOException, InterruptedException {
        String cmd = Variation.BASELINE.shellCommand(List.of("/bin/echo", "a b", "it's"));
        Process p = new ProcessBuilder("/bin/sh", "-c", cmd.replace("taskset -c 0 ", "")).start();
        assertTrue(p.waitFor(10, TimeUnit.SECONDS));
        assertEquals("a b it's", new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip());
    }
}
