package dev.vmsight.tracer.capture;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * How one traced run differs on purpose from the others (merging needs diversity): how many
 * extra sleeping processes the guest runs besides its fixed workload, which process starts the
 * trainer, which file descriptors it inherits open, and the CPU it is pinned to. Written into
 * the trace header's context; {@link #cycle(int)} gives run i of a series.
 *
 * @param extraSleepers busybox {@code sleep} processes started through qemu-ga before the run
 *                      (those of the previous run are killed first): the workload size
 * @param launcher      the trainer's parent
 * @param openFiles     redirections applied before the trainer starts, e.g. {@code 3</proc/version}
 * @param cpu           vCPU the trainer is pinned to with taskset (0: the one vCPU tracing supports)
 */
public record Variation(int extraSleepers, Launcher launcher, List<String> openFiles, int cpu) {

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
    public static final Variation BASELINE = new Variation(0, Launcher.EXEC, List.of(), 0);

    private static final List<List<String>> FD_SETS = List.of(
            List.of(), List.of("3</proc/version"), List.of("3</proc/version", "5</", "7</dev/null"));

    public Variation {
        if (extraSleepers < 0 || extraSleepers > 500) {
            throw new IllegalArgumentException("extra sleepers must be 0..500, not " + extraSleepers);
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
        return new Variation(new int[]{0, 3, 8, 1, 5}[i % 5], launchers[i % launchers.length], FD_SETS.get(i % FD_SETS.size()), 0);
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
        m.put("variation.launcher", launcher.name().toLowerCase(java.util.Locale.ROOT));
        m.put("variation.openFiles", String.join(" ", openFiles));
        m.put("variation.cpu", String.valueOf(cpu));
        return m;
    }

    private static String quote(String s) {
        return s.matches("[A-Za-z0-9/._=:,+-]+") ? s : "'" + s.replace("'", "'\\''") + "'";
    }
}
