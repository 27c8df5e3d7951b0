package dev.vmsight.tracer.capture;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * How one traced run differs on purpose from the others (merging needs diversity): how many
 * extra sleeping processes the guest runs besides its fixed workload and where their PIDs lie,
 * which process starts the trainer, which file descriptors it inherits open, and the CPU it is
 * pinned to. Written into the trace header's context; {@link #cycle(int)} gives run i of a series.
 *
 * <p>The workload dimensions are chosen for the paths real guests take: a listing of more than
 * about 280 processes no longer fits one 8 KiB getdents64 buffer (the kernel's buffer-full path
 * and the trainer's second call with entries), and PIDs above 4,096 and 262,144 deepen the PID
 * radix tree and give 4- to 7-digit names (the kernel's decimal formatting).
 *
 * @param extraSleepers busybox {@code sleep} processes started through qemu-ga before the run
 *                      (those of the previous run are killed first): the workload size
 * @param pidFloor      when above 0, the extra sleepers (and what starts after them) get PIDs from
 *                      here on: {@code ns_last_pid} is moved to {@code pidFloor - 1} first, and
 *                      {@code pid_max} raised to its limit when needed; 0 leaves PIDs where they are
 * @param crowd         names looked up in {@code /sys} and {@code /sys/kernel} that do not exist, before the run:
 *                      negative dentries that crowd the dentry hash table, so lookups walk past
 *                      entries of other names and directories in their bucket, as on a busy guest (0: none).
 *                      The crowd comes after the guest dropped its unused dentries and listed /proc
 *                      again: a name only the trainer looks up ({@code /proc/modules}) is then cold,
 *                      in a crowded bucket, while the /proc/PID entries are as warm as before
 * @param launcher      the trainer's parent
 * @param openFiles     redirections applied before the trainer starts, e.g. {@code 3</proc/version}
 * @param cpu           vCPU the trainer is pinned to with taskset (0: the one vCPU tracing supports)
 * @param coldDcache    drop the guest's unused dentries after the sleepers start: their /proc/PID
 *                      entries are uncached, as those of processes a real init started (busybox
 *                      caches each new process's own), so the trainer's listing of them is cold
 * @param referencedDcache list /proc twice right before the run: every /proc/PID entry is then on the
 *                      dentry LRU and marked referenced, as on a guest whose /proc was listed before
 *                      (ps, top, an agent's check). A PID's dentry has a d_delete op, so each final
 *                      dput takes retain_dentry's locked path, which sets the mark only when it is
 *                      missing: without this run, whether training saw the mark set was left to the
 *                      LRU shrinker (which clears it) and the runs before
 */
public record Variation(int extraSleepers, int pidFloor, int crowd, Launcher launcher, List<String> openFiles, int cpu,
                        boolean coldDcache, boolean referencedDcache) {

    /** Which process runs (or starts) the trainer. */
    public enum Launcher {
        /** qemu-ga's shell execs the trainer: its parent is qemu-ga. */
        EXEC,
        /** a second shell runs it as a child: its parent is that shell. */
        NESTED_SHELL,
        /** setsid: a new session and process group, no controlling terminal. */
        SETSID,
        /** a subshell forks it in the background and waits: parent is the subshell, other process group position. */
        BACKGROUND
    }

    /** The plain run: no extra processes, exec'd by qemu-ga's shell, no extra descriptors, CPU 0. */
    public static final Variation BASELINE = new Variation(0, 0, 0, Launcher.EXEC, List.of(), 0, false, false);

    /** The kernel's largest pid_max on 64-bit (PID_MAX_LIMIT): PIDs are below it. */
    public static final int PID_MAX_LIMIT = 4 * 1024 * 1024;

    /**
     * Workload sizes cycled. 800 extra sleepers overflow the 8 KiB getdents64 buffer of /proc
     * three times, and their listing is cold ({@link #COLD}): each new PID's name is looked up and
     * added to the dentry cache, so some lookups walk past a sibling (another /proc PID in the same
     * hash bucket, with another name), as the first listing of a crowded guest does. n cold names in
     * 32,768 buckets give about n^2 / 65,536 such walks: 11.5 for the ~870 names here, so a run
     * without one is a chance of about 1 in 100,000. With 500 sleepers (cycles 5-9: 5 walks, 4 to 7
     * measured) about 1 training in 150 saw none, and its pslist refused a guest's first listing at
     * __d_lookup_rcu's name-hash compare (CI met it). 1,000 (cycle 10, 17 walks) made every pslist
     * training slice a 5.2 M-instruction listing and CI 40 % slower.
     */
    private static final int[] SLEEPERS = {0, 800, 8, 3, 5, 1};
    /** The most extra sleepers a run starts (a 256 MiB guest forks about 2,000 more at most). */
    private static final int MAX_EXTRA_SLEEPERS = 1000;
    /** Runs whose dentry cache is dropped after the sleepers start (run 1 of every four: the 800 sleepers' listing). */
    private static final boolean[] COLD = {false, true, false, false};
    /**
     * Runs whose /proc/PID entries are referenced ({@link #referencedDcache}): run 3 of every four, the
     * listings right before its trainer (the LRU shrinker, which clears marks under the pressure of
     * run 2's crowd, would have to run in between). Run 0 stays the first listing since boot, run 1
     * (dropped) gives the entries not yet cached, run 2 (dropped, listed once) the unmarked ones.
     */
    private static final boolean[] REFERENCED = {false, false, false, true};

    /**
     * The dentry hash table of every other training boot (runs 4-7 of every eight): 2^20 buckets
     * (8 MiB) for ~10,000 dentries, so a name's first lookup almost always finds its bucket empty,
     * where the kernel's own table (32,768 buckets on the lab's 256 MiB) gives an empty bucket
     * about 3 times in 4, and the lab's nokaslr training boot happens to give /proc/modules an
     * occupied one. A program that looks one name up cold (lsmod: /proc/modules) needs a boot of
     * each kind to be trained for both; the occupied bucket's other direction (a walk past
     * other names to the chain's end) is run 2's: see {@link #crowd()}.
     */
    public static final int SPARSE_DENTRY_HASH = 1 << 20;

    /** The dentry hash buckets of training boot {@code boot} (runs 4·boot to 4·boot+3): 0 is the kernel's own size. */
    public static int dentryHashEntries(int boot) {
        return boot % 2 == 1 ? SPARSE_DENTRY_HASH : 0;
    }
    /** PID floors cycled: 4- to 7-digit PIDs, radix trees of 3 and 4 levels (64 slots a node). */
    private static final int[] PID_FLOORS = {0, 4_200, 1_100_000, 300_000, 0, 70_000, 0, 2_000_000};

    /**
     * Negative dentries made before run 2 of every four (cycled; they stay for run 3), half under
     * /sys and half under /sys/kernel (sysfs keeps negative dentries; the lab's tmpfs root and /proc
     * keep none): a lookup walks past entries of other names and other parents, in chains of
     * several, as on a busy guest.
     */
    private static final int[] CROWDS = {0, 0, 120_000, 0};

    /**
     * What the cycle's runs mean; bumped when it changes, and a corpus of another version is traced
     * again (4: PID floors, 300 extra sleepers, the dcache crowded under two sysfs directories;
     * 5: 500 extra sleepers listed cold, walking past siblings in the dentry hash; 6: first tried,
     * reverted: run 2 cold before its crowd; 7: a sparse dentry hash table on every other boot,
     * run 2's crowd after a drop and a re-listing of /proc; 8: first tried, run 0's /proc/PID entries referenced;
     * 9: run 3's instead, run 0 the first listing since boot again; 10: first tried, run 1 lists 1,000 sleepers
     * cold, not 500, so its walks past a sibling are no longer left to chance; 11: 800, which does that at less cost).
     */
    public static final int CYCLE_VERSION = 11;
    /** The header context key of {@link #CYCLE_VERSION}. */
    public static final String CYCLE_VERSION_KEY = "variation.cycleVersion";

    /** A variation with PIDs left where they are and the dcache as it is. */
    public Variation(int extraSleepers, Launcher launcher, List<String> openFiles, int cpu) {
        this(extraSleepers, 0, 0, launcher, openFiles, cpu, false, false);
    }

    /** A variation with the dcache as it is. */
    public Variation(int extraSleepers, int pidFloor, Launcher launcher, List<String> openFiles, int cpu) {
        this(extraSleepers, pidFloor, 0, launcher, openFiles, cpu, false, false);
    }


    private static final List<List<String>> FD_SETS = List.of(
            List.of(), List.of("3</proc/version"), List.of("3</proc/version", "5</", "7</dev/null"));

    public Variation {
        if (extraSleepers < 0 || extraSleepers > MAX_EXTRA_SLEEPERS) {
            throw new IllegalArgumentException("extra sleepers must be 0.." + MAX_EXTRA_SLEEPERS + ", not " + extraSleepers);
        }
        if (pidFloor < 0 || pidFloor >= PID_MAX_LIMIT - extraSleepers - 1000) {
            throw new IllegalArgumentException("PID floor must be 0..." + (PID_MAX_LIMIT - extraSleepers - 1000) + ", not " + pidFloor);
        }
        openFiles = List.copyOf(openFiles);
        for (String r : openFiles) {
            if (!r.matches("[3-9]<[A-Za-z0-9/._-]+")) {
                throw new IllegalArgumentException("open-file redirection '" + r + "' is not of the form N<path (N in 3..9)");
            }
        }
        if (cpu != 0) {
            throw new IllegalArgumentException("CPU " + cpu + ": tracing supports 1-vCPU guests only (the lockstep prefix "
                    + "single-steps one vCPU and the replay models no other CPU writing memory meanwhile)");
        }
    }

    /** Run {@code i} (from 0) of a series: each dimension cycles with its own period, so consecutive runs all differ. */
    public static Variation cycle(int i) {
        if (i < 0) {
            throw new IllegalArgumentException("run index " + i);
        }
        Launcher[] launchers = Launcher.values();
        return new Variation(SLEEPERS[i % SLEEPERS.length], PID_FLOORS[i % PID_FLOORS.length], CROWDS[i % CROWDS.length],
                launchers[i % launchers.length], FD_SETS.get(i % FD_SETS.size()), 0, COLD[i % COLD.length],
                REFERENCED[i % REFERENCED.length]);
    }

    /** The /bin/sh command that runs {@code argv} this way (it must not print anything of its own). */
    public String shellCommand(List<String> argv) {
        String command = argv.stream().map(Variation::quote).collect(Collectors.joining(" "));
        String fds = openFiles.isEmpty() ? "" : "exec " + String.join(" ", openFiles) + "; ";
        String pinned = "taskset -c " + cpu + " " + command;
        return fds + switch (launcher) {
            case EXEC -> "exec " + pinned;
            case NESTED_SHELL -> "/bin/sh -c " + quote(pinned + "; exit $?") + "; exit $?";
            case SETSID -> "exec setsid " + pinned;
            case BACKGROUND -> "( " + pinned + " & wait $! ); exit $?";
        };
    }

    /** What goes into the trace header's context. */
    public Map<String, String> context() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("variation.extraSleepers", String.valueOf(extraSleepers));
        m.put(PID_FLOOR_KEY, String.valueOf(pidFloor));
        m.put(CROWD_KEY, String.valueOf(crowd));
        m.put("variation.coldDcache", String.valueOf(coldDcache));
        m.put("variation.referencedDcache", String.valueOf(referencedDcache));
        m.put(CYCLE_VERSION_KEY, String.valueOf(CYCLE_VERSION));
        m.put("variation.launcher", launcher.name().toLowerCase(java.util.Locale.ROOT));
        m.put("variation.openFiles", String.join(" ", openFiles));
        m.put("variation.cpu", String.valueOf(cpu));
        return m;
    }

    /** The header context key of {@link #pidFloor()} (a corpus traced before it existed is traced again). */
    public static final String PID_FLOOR_KEY = "variation.pidFloor";
    /** The header context key of {@link #crowd()}. */
    public static final String CROWD_KEY = "variation.dcacheCrowd";

    /**
     * The guest shell script that sets this variation's workload: kills the extra sleepers of an
     * earlier run (their PIDs are in {@code pidFile}), moves the next PID to the floor, starts the
     * sleepers and records their PIDs.
     */
    public String workloadScript(String pidFile) {
        StringBuilder s = new StringBuilder();
        s.append("[ -f ").append(pidFile).append(" ] && kill $(cat ").append(pidFile).append(") 2>/dev/null; rm -f ").append(pidFile)
                .append("; ");
        if (pidFloor > 0) {
            s.append("[ $(cat /proc/sys/kernel/pid_max) -gt ").append(pidFloor + extraSleepers + 1000).append(" ] || echo ")
                    .append(PID_MAX_LIMIT).append(" > /proc/sys/kernel/pid_max || exit 1; echo ").append(pidFloor - 1)
                    .append(" > /proc/sys/kernel/ns_last_pid || exit 1; ");
        }
        s.append("i=0; while [ $i -lt ").append(extraSleepers).append(" ]; do sleep 2147483647 </dev/null >/dev/null 2>&1 & ")
                .append("echo $! >> ").append(pidFile).append("; i=$((i+1)); done; ");
        s.append(dentryCacheScript(pidFile));
        s.append("true");
        return s.toString();
    }

    /**
     * The part of {@link #workloadScript} that sets the dentry cache's state: run 1's drop, run 2's
     * drop, re-listing and crowd, run 3's two listings ("" when the variation leaves the cache as it is). A run traced
     * again after a failed attempt sets it again first: the attempt cached everything it looked up,
     * and a retried cold listing is otherwise warm (CI met that: run 1 of two corpora retried once
     * and traced 0.7 M instructions instead of 2.6 M (500 sleepers then), and no sibling walk).
     */
    public String dentryCacheScript(String pidFile) {
        StringBuilder s = new StringBuilder();
        if (coldDcache) {
            // each sleeper caches its /proc/PID when it execs (busybox runs applets through /proc/self/exe):
            // wait for every exec, then drop; a dentry the LRU marked referenced goes on a later pass
            s.append("for p in $(cat ").append(pidFile).append("); do n=0; until grep -q '^sleep' /proc/$p/cmdline 2>/dev/null ")
                    .append("|| [ $n -ge 100 ]; do sleep 0.1; n=$((n+1)); done; done; ")
                    .append("for p in 1 2 3; do echo 3 > /proc/sys/vm/drop_caches || exit 1; done; ");
        }
        if (crowd > 0) {
            // names of earlier runs (/proc/modules) go cold; the PID entries come back (a readdir of /proc
            // instantiates each PID's dentry, nothing else), so a listing stays warm as the agent's are
            s.append("for p in 1 2 3; do echo 3 > /proc/sys/vm/drop_caches || exit 1; done; : /proc/[0-9]*; ");
            s.append("i=0; while [ $i -lt ").append(crowd / 2).append(" ]; do [ -e /sys/.vmsight-absent-$i ]; [ -e /sys/kernel/.vmsight-absent-$i ]; ")
                    .append("i=$((i+1)); done; ");
        }
        if (referencedDcache) {
            // the first listing caches what is missing (on the LRU, unmarked), the second marks every entry
            s.append(": /proc/[0-9]*; : /proc/[0-9]*; ");
        }
        return s.toString();
    }

    private static String quote(String s) {
        return s.matches("[A-Za-z0-9/._=:,+-]+") ? s : "'" + s.replace("'", "'\\''") + "'";
    }
}
