package dev.vmsight.cli;

import dev.vmsight.guests.ExecResult;
import dev.vmsight.guests.KernelPackage;
import dev.vmsight.guests.LabLayout;
import dev.vmsight.guests.QemuGuest;
import dev.vmsight.guests.QemuLauncher;
import dev.vmsight.guests.TrainingProgram;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Option;

/**
 * {@code vmsight demo}: the lab end to end. Builds the image if needed, boots a guest with a
 * workload, runs the pslist training program in it and sets its PIDs beside the guest's own view
 * ({@code ls /proc}), with the time each stage took; then stops the guest. Later stages (trace,
 * slice, merge, compile) append here.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Boot a lab guest, run pslist in it, compare with ls /proc, stop it; with timings.")
final class DemoCommand implements Callable<Integer> {

    @Spec CommandSpec spec;

    private static final Duration EXEC = Duration.ofSeconds(60);

    @Option(names = "--procs", defaultValue = "20", description = "sleeper processes in the workload (default: ${DEFAULT-VALUE})")
    int procs;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        LabLayout lab = Labs.layout();
        KernelPackage kernel = lab.pinnedKernel();
        out.println("vmsight demo: " + kernel + ", QEMU TCG, " + procs + " sleepers");

        long t = System.nanoTime();
        lab.build(kernel);
        stage(out, "build lab image", t);

        t = System.nanoTime();
        String name = "demo";
        boolean agree;
        long stopping;
        try (QemuGuest guest = QemuLauncher.start(lab.defaultConfig(name, kernel).withProcs(procs))) {
            stage(out, "boot guest (QEMU PID " + guest.pid() + ")", t);

            // ls first, then the same shell execs pslist: ls's own PID is the only one pslist cannot see.
            t = System.nanoTime();
            ExecResult r = guest.exec(EXEC, List.of("/bin/sh", "-c",
                    "ls /proc; echo ---; exec " + TrainingProgram.PSLIST.guestPath()));
            String both = r.stdoutOrThrow("pslist");
            stage(out, "run pslist and ls /proc (qemu-ga)", t);

            String[] parts = both.split("---\n", 2);
            Set<Long> ls = numbers(parts[0], Pattern.compile("(?m)^(\\d+)$"));
            Set<Long> pslist = numbers(parts[1], Pattern.compile("(?m)^pid=(\\d+)$"));
            long self = numbers(parts[1], Pattern.compile("(?m)^self=(\\d+)$")).iterator().next();
            agree = compare(out, ls, pslist, self);
            stopping = System.nanoTime();
        }
        stage(out, "stop guest", stopping);
        return agree ? 0 : 1;
    }

    /** Prints both views side by side; they agree when they differ at most by ls's own (exited) PID. */
    private static boolean compare(PrintWriter out, Set<Long> ls, Set<Long> pslist, long self) {
        Set<Long> all = new TreeSet<>(ls);
        all.addAll(pslist);
        out.printf("%8s  %-8s %-8s%n", "PID", "pslist", "ls /proc");
        Set<Long> onlyLs = new TreeSet<>();
        Set<Long> onlyPslist = new TreeSet<>();
        for (long pid : all) {
            boolean inP = pslist.contains(pid), inL = ls.contains(pid);
            String note = pid == self ? "  (pslist itself)" : inL && !inP ? "  (ls itself, exited)" : "";
            out.printf("%8d  %-8s %-8s%s%n", pid, inP ? "yes" : "-", inL ? "yes" : "-", note);
            if (inL && !inP) onlyLs.add(pid);
            if (inP && !inL && pid != self) onlyPslist.add(pid);
        }
        boolean agree = onlyPslist.isEmpty() && onlyLs.size() <= 1;
        out.println("pslist: " + pslist.size() + " PIDs, ls /proc: " + ls.size() + " -> "
                + (agree ? "AGREE" : "DISAGREE (only pslist: " + onlyPslist + ", only ls: " + onlyLs + ")"));
        return agree;
    }

    private static Set<Long> numbers(String text, Pattern p) {
        Set<Long> out = new TreeSet<>();
        Matcher m = p.matcher(text);
        while (m.find()) out.add(Long.parseLong(m.group(1)));
        return out;
    }

    private static void stage(PrintWriter out, String what, long startNanos) {
        out.printf("  %-40s %8.2f s%n", what, (System.nanoTime() - startNanos) / 1e9);
    }
}
