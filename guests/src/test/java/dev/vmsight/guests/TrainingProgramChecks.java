package dev.vmsight.guests;

import static org.junit.jupiter.api.Assertions.*;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The six training programs run in a booted guest and checked against the guest's own answer
 * (its shell, `date`, /proc). Works with any {@link Guest} (QEMU or libvirt launcher): call
 * {@link #check(Guest, TrainingProgram)} from a lab test.
 */
public final class TrainingProgramChecks {
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    private TrainingProgramChecks() {
    }

    public static void check(Guest guest, TrainingProgram program) {
        switch (program) {
            case GETPID -> getpid(guest);
            case GETTIME -> gettime(guest);
            case PSLIST -> pslist(guest);
            case GETPSFILE -> getpsfile(guest);
            case LSMOD -> lsmod(guest);
            case GETDRVFILE -> getdrvfile(guest);
        }
    }

    private static String sh(Guest guest, String script) {
        ExecResult r = guest.exec(TIMEOUT, List.of("/bin/sh", "-c", script));
        return r.stdoutOrThrow("sh -c '" + script + "' in " + guest.name());
    }

    private static long field(String output, String key) {
        Matcher m = Pattern.compile("(?m)^" + key + "=(\\d+)$").matcher(output);
        assertTrue(m.find(), "no " + key + "= line in: " + output);
        return Long.parseLong(m.group(1));
    }

    /** getpid run with exec from a shell reports that shell's PID ($$). */
    static void getpid(Guest guest) {
        String[] lines = sh(guest, "echo $$; exec " + TrainingProgram.GETPID.guestPath()).split("\n", 2);
        assertEquals(Long.parseLong(lines[0].strip()), field(lines[1], "pid"), "getpid vs the shell's $$");
    }

    /** gettime agrees with the guest's `date +%s` to within 5 s. */
    static void gettime(Guest guest) {
        String[] lines = sh(guest, "date +%s; exec " + TrainingProgram.GETTIME.guestPath()).split("\n", 2);
        long date = Long.parseLong(lines[0].strip());
        long time = field(lines[1], "time");
        assertTrue(Math.abs(time - date) <= 5, "gettime " + time + " vs date +%s " + date);
    }

    private static Set<Long> numbers(String text, Pattern p) {
        Set<Long> out = new TreeSet<>();
        Matcher m = p.matcher(text);
        while (m.find()) out.add(Long.parseLong(m.group(1)));
        return out;
    }

    /**
     * pslist = the numeric entries of `ls /proc`. ls runs first in the same shell, which then execs
     * pslist, so the only PID ls may see that pslist does not is ls's own (it has exited).
     */
    static void pslist(Guest guest) {
        String out = sh(guest, "echo $$; ls /proc; echo ---; exec " + TrainingProgram.PSLIST.guestPath());
        String[] parts = out.split("---\n", 2);
        long shell = Long.parseLong(parts[0].lines().findFirst().orElseThrow().strip());
        Set<Long> ls = numbers(parts[0].substring(parts[0].indexOf('\n') + 1), Pattern.compile("(?m)^(\\d+)$"));
        Set<Long> pslist = numbers(parts[1], Pattern.compile("(?m)^pid=(\\d+)$"));
        assertEquals(shell, field(parts[1], "self"), "pslist's self is the exec'd shell");
        assertTrue(pslist.contains(shell), "pslist lists itself: " + pslist);
        assertTrue(pslist.size() > guest.config().procs(), "pslist sees the " + guest.config().procs() + " workload processes: " + pslist);
        Set<Long> onlyLs = new TreeSet<>(ls);
        onlyLs.removeAll(pslist);
        Set<Long> onlyPslist = new TreeSet<>(pslist);
        onlyPslist.removeAll(ls);
        assertEquals(Set.of(), onlyPslist, "PIDs pslist found that ls /proc did not (ls " + ls + ")");
        assertTrue(onlyLs.size() <= 1, "PIDs in ls /proc missing from pslist (beyond ls itself): " + onlyLs);
    }

    /** getpsfile PID = /proc/PID/comm, for PID 1 and every workload process. */
    static void getpsfile(Guest guest) {
        String ps = sh(guest, "for p in /proc/[0-9]*; do echo \"${p#/proc/} $(cat $p/comm 2>/dev/null)\"; done");
        Map<Long, String> comm = new TreeMap<>();
        for (String line : ps.split("\n")) {
            String[] f = line.strip().split(" ", 2);
            if (f.length == 2 && !f[1].isBlank()) comm.put(Long.parseLong(f[0]), f[1].strip());
        }
        List<Long> pids = new ArrayList<>();
        pids.add(1L);
        comm.forEach((pid, name) -> { if (!name.equals("sh") && !name.startsWith("kworker") && pid > 1 && pids.size() < 8) pids.add(pid); });
        for (long pid : pids) {
            String out = guest.exec(TIMEOUT, List.of(TrainingProgram.GETPSFILE.guestPath(), Long.toString(pid)))
                    .stdoutOrThrow("getpsfile " + pid);
            assertEquals("pid=" + pid + " name=" + comm.get(pid), out.strip(), "getpsfile " + pid + " vs /proc/" + pid + "/comm");
        }
    }

    private static Map<String, String> procModules(Guest guest) {
        Map<String, String> bases = new TreeMap<>();
        for (String line : sh(guest, "cat /proc/modules").split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 6) bases.put(f[0], f[5]);
        }
        assertFalse(bases.isEmpty(), "the guest loaded the virtio modules, /proc/modules cannot be empty");
        return bases;
    }

    /** lsmod lists exactly /proc/modules' names and base addresses. */
    static void lsmod(Guest guest) {
        Map<String, String> expected = procModules(guest);
        String out = guest.exec(TIMEOUT, List.of(TrainingProgram.LSMOD.guestPath())).stdoutOrThrow("lsmod");
        Map<String, String> got = new TreeMap<>();
        Matcher m = Pattern.compile("(?m)^module=(\\S+) base=(\\S+)$").matcher(out);
        while (m.find()) got.put(m.group(1), m.group(2));
        assertEquals(expected, got, "lsmod vs /proc/modules");
        expected.values().forEach(b -> assertNotEquals("0x0000000000000000", b, "/proc/modules hides bases: not root?"));
    }

    /** getdrvfile BASE names the module /proc/modules shows at BASE, for every module. */
    static void getdrvfile(Guest guest) {
        Map<String, String> modules = procModules(guest);
        modules.forEach((name, base) -> {
            String out = guest.exec(TIMEOUT, List.of(TrainingProgram.GETDRVFILE.guestPath(), base)).stdoutOrThrow("getdrvfile " + base);
            assertEquals("module=" + name, out.strip().replaceFirst("^base=\\S+ ", ""), "getdrvfile " + base);
            assertEquals(Long.parseUnsignedLong(base.substring(2), 16),
                    Long.parseUnsignedLong(out.strip().replaceFirst("^base=0x(\\S+) .*$", "$1"), 16), "getdrvfile echoes the base");
        });
    }
}
