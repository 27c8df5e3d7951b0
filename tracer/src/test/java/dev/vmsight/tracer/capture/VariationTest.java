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
            assertTrue(a.extraSleepers() != b.extraSleepers() || a.pidFloor() != b.pidFloor(), "workload of runs " + i + " and " + (i + 1));
            assertTrue(Variation.cycle(i).crowd() > 0 || i % 4 != 2, "run " + i + " crowds the dcache");
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
        assertThrows(IllegalArgumentException.class, () -> new Variation(0, Variation.PID_MAX_LIMIT, Variation.Launcher.EXEC, List.of(), 0));
    }

    /** Within any four consecutive runs (one boot's, three of them the demo's default), a full getdents64 buffer and high PIDs. */
    @Test
    void theFirstRunsCoverTheBufferFullPathAndDeepPidTrees() {
        assertEquals(0, Variation.cycle(0).extraSleepers(), "run 0 is the baseline listing");
        for (int first = 0; first < 16; first += 4) {
            int most = 0, floor = 0;
            for (int i = first; i < first + 4; i++) {
                most = Math.max(most, Variation.cycle(i).extraSleepers());
                floor = Math.max(floor, Variation.cycle(i).pidFloor());
            }
            assertTrue(most >= 300 || first > 0, "runs " + first + ".." + (first + 3) + ": at most " + most + " extra sleepers");
            assertTrue(floor > 262_144, "runs " + first + ".." + (first + 3) + ": PIDs only below " + floor);
        }
        assertTrue(Variation.cycle(1).extraSleepers() >= 300 && Variation.cycle(2).pidFloor() > 1_000_000,
                "runs 1 and 2 (in a 3-run training) overflow the buffer and reach 7-digit PIDs");
        // the big listing is cold (busybox caches each new process's /proc/PID; a real init's processes are not)
        assertTrue(Variation.cycle(1).coldDcache() && Variation.cycle(1).workloadScript("/run/x").contains("drop_caches"));
        // and big enough that walks past a sibling in the dentry hash are not left to chance: n cold names in
        // 32,768 buckets give about n^2 / 65,536 of them (Poisson); at least 9.5 expected (the sleepers alone,
        // without the ~70 processes of the image) leaves a run without one a chance below 1 in 13,000
        // (500 sleepers gave 5, and about 1 training in 150 saw none)
        int cold = Variation.cycle(1).extraSleepers();
        assertTrue((double) cold * cold / 65_536 >= 9.5, "run 1's " + cold + " cold names give too few sibling walks");
        // run 2 drops before its crowd (a name only the trainer reads goes cold) and lists /proc again (its PID entries stay warm)
        String run2 = Variation.cycle(2).workloadScript("/run/x");
        int drop = run2.indexOf("drop_caches"), relist = run2.indexOf(": /proc/[0-9]*"), crowd = run2.indexOf("vmsight-absent");
        assertTrue(!Variation.cycle(2).coldDcache() && drop > 0 && drop < relist && relist < crowd, run2);
        assertTrue(!Variation.cycle(3).coldDcache() && !Variation.cycle(3).workloadScript("/run/x").contains("drop_caches"),
                "run 3 keeps run 2's crowd of negative dentries");
        // run 3 lists /proc twice right before the trainer (every PID entry referenced), no other run does:
        // run 0 stays the first listing since boot
        for (int run = 0; run < 8; run++) {
            String script = Variation.cycle(run).workloadScript("/run/x");
            assertEquals(run % 4 == 3, Variation.cycle(run).referencedDcache(), "run " + run);
            assertEquals(run % 4 == 3, script.endsWith(": /proc/[0-9]*; : /proc/[0-9]*; true"), script);
        }
        // the tracer sets a run's workload unless its script is the current one's: the script holds every workload
        // dimension (and none of how the trainer is started)
        Variation a = new Variation(3, 300_000, 0, Variation.Launcher.EXEC, List.of(), 0, false, true);
        assertEquals(a.workloadScript("/run/x"),
                new Variation(3, 300_000, 0, Variation.Launcher.SETSID, List.of("3</proc/version"), 0, false, true).workloadScript("/run/x"));
        for (Variation other : List.of(new Variation(4, 300_000, 0, Variation.Launcher.EXEC, List.of(), 0, false, true),
                new Variation(3, 4_200, 0, Variation.Launcher.EXEC, List.of(), 0, false, true),
                new Variation(3, 300_000, 10, Variation.Launcher.EXEC, List.of(), 0, false, true),
                new Variation(3, 300_000, 0, Variation.Launcher.EXEC, List.of(), 0, true, true),
                new Variation(3, 300_000, 0, Variation.Launcher.EXEC, List.of(), 0, false, false))) {
            assertTrue(!a.workloadScript("/run/x").equals(other.workloadScript("/run/x")), other.toString());
        }
        // every other training boot has a sparse dentry hash table: a cold lookup's bucket is then empty
        assertEquals(0, Variation.dentryHashEntries(0));
        assertEquals(Variation.SPARSE_DENTRY_HASH, Variation.dentryHashEntries(1));
        assertEquals(0, Variation.dentryHashEntries(2));
        assertEquals("true", Variation.cycle(1).context().get("variation.coldDcache"));
        // a retried run sets the cache's state again, without touching the sleepers (a run's input may name one)
        for (int run = 0; run < 4; run++) {
            String again = Variation.cycle(run).dentryCacheScript("/run/x");
            assertTrue(Variation.cycle(run).workloadScript("/run/x").contains(again), "run " + run);
            assertTrue(!again.contains("kill") && !again.contains("sleep 2147483647") && !again.contains("ns_last_pid"), again);
            assertEquals(Variation.cycle(run).coldDcache() || Variation.cycle(run).crowd() > 0, again.contains("drop_caches"), again);
            assertEquals(Variation.cycle(run).referencedDcache(), again.contains(": /proc/[0-9]*; : /proc/[0-9]*"), again);
        }
    }

    /** The workload script on the host's sh (without the guest's sysctls): it starts and later kills exactly its sleepers. */
    @Test
    void theWorkloadScriptStartsAndKillsItsSleepers() throws Exception {
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("vmsight-workload");
        String pidFile = dir.resolve("sleepers").toString();
        try {
            run(new Variation(3, Variation.Launcher.EXEC, List.of(), 0).workloadScript(pidFile));
            List<String> pids = java.nio.file.Files.readAllLines(java.nio.file.Path.of(pidFile));
            assertEquals(3, pids.size());
            for (String pid : pids) {
                assertTrue(java.nio.file.Files.exists(java.nio.file.Path.of("/proc", pid)), "sleeper " + pid + " runs");
            }
            run(Variation.BASELINE.workloadScript(pidFile));
            for (String pid : pids) {
                for (int i = 0; i < 50 && isLiveSleeper(pid); i++) Thread.sleep(20);
                assertTrue(!isLiveSleeper(pid), "sleeper " + pid + " was killed");
            }
            assertTrue(new Variation(1, 5000, Variation.Launcher.EXEC, List.of(), 0).workloadScript(pidFile)
                    .contains("echo 4999 > /proc/sys/kernel/ns_last_pid"));
            // crowding the dcache: names that do not exist, looked up in /, leave nothing behind but negative dentries
            run(new Variation(0, 0, 50, Variation.Launcher.EXEC, List.of(), 0, false, false).workloadScript(pidFile)
                    .replace(" /sys/.vmsight-absent-", " " + dir.resolve("absent-")).replace(" /sys/kernel/.vmsight-absent-", " " + dir.resolve("absent2-")));
            try (var files = java.nio.file.Files.list(dir)) {
                assertTrue(files.noneMatch(f -> f.getFileName().toString().startsWith("absent-")), "the crowd created files");
            }
        } finally {
            run("[ -f " + pidFile + " ] && kill $(cat " + pidFile + "); true");
            java.nio.file.Files.walk(dir).sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private static boolean isLiveSleeper(String pid) {
        try {
            String stat = java.nio.file.Files.readString(java.nio.file.Path.of("/proc", pid, "stat"));
            return !stat.contains(") Z ");
        } catch (IOException gone) {
            return false;
        }
    }

    private static void run(String script) throws Exception {
        Process p = new ProcessBuilder("/bin/sh", "-c", script).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        assertTrue(p.waitFor(10, TimeUnit.SECONDS), script);
    }

    @Test
    void argumentsWithSpacesAreQuoted() throws IOException, InterruptedException {
        String cmd = Variation.BASELINE.shellCommand(List.of("/bin/echo", "a b", "it's"));
        Process p = new ProcessBuilder("/bin/sh", "-c", cmd.replace("taskset -c 0 ", "")).start();
        assertTrue(p.waitFor(10, TimeUnit.SECONDS));
        assertEquals("a b it's", new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip());
    }
}
