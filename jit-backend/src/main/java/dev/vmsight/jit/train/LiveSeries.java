package dev.vmsight.jit.train;

import dev.vmsight.guests.GuestConfig;
import dev.vmsight.guests.LabLayout;
import dev.vmsight.guests.QemuGuest;
import dev.vmsight.guests.QemuLauncher;
import dev.vmsight.guests.TrainingProgram;
import dev.vmsight.jit.run.GuestSource;
import dev.vmsight.jit.run.GuestSources;
import dev.vmsight.jit.run.KernelCodeCheck;
import dev.vmsight.jit.run.ProgramRuns;
import dev.vmsight.jit.run.TaskListOracle;
import dev.vmsight.jit.run.RunOutcome;
import dev.vmsight.tracer.capture.TrainingInputs;
import dev.vmsight.tracer.capture.Variation;
import dev.vmsight.vmi.Budget;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Live reliability of trained programs: boot after boot of the lab guest, each with a workload
 * size, a vCPU count and a PID floor from the series' cycles, and in each boot every program at
 * each pause point (the guest idle; busy in user mode; busy in the kernel), against the guest's
 * own view ({@link GuestView}). Every run is classified: correct, wrong (an answer the guest
 * contradicts), unseen path, budget, or another structured error; what the vCPU was doing when
 * paused (idle, user, kernel, by its CPL and whether it halted) is recorded beside what was asked.
 */
public final class LiveSeries {

    /** What a guest was made to do while monitors paused it. */
    public enum Pause {
        /** nothing but the workload's sleepers: the vCPUs idle in HLT */
        IDLE,
        /** one busy loop in user mode per vCPU */
        USER,
        /** one process per vCPU spending its time in the kernel (dd from /dev/zero: clear_user) */
        KERNEL
    }

    /**
     * How a run ended against the guest's view; a pslist answer the guest's view agreed with is
     * also held against the tasks list in the same paused memory ({@link TaskListOracle}), and
     * {@code TASKS_LIST_DIFFERS} when the two oracles disagree about it.
     */
    public enum Result { CORRECT, WRONG, UNSEEN_PATH, BUDGET, ERROR, TASKS_LIST_DIFFERS }

    /**
     * The series' shape: boots, and the cycles each boot takes its parameters from; {@code kaslr}:
     * every boot with KASLR; {@code cpuModel}: the QEMU CPU model of every boot.
     */
    public record Plan(int boots, List<Integer> sizes, List<Integer> cpus, List<Integer> pidFloors, List<Pause> pauses,
                       List<TrainingProgram> programs, Budget budget, boolean kaslr, String cpuModel) {
        public Plan {
            sizes = List.copyOf(sizes);
            cpus = List.copyOf(cpus);
            pidFloors = List.copyOf(pidFloors);
            pauses = List.copyOf(pauses);
            programs = List.copyOf(programs);
        }

        /** A plan on the default CPU model. */
        public Plan(int boots, List<Integer> sizes, List<Integer> cpus, List<Integer> pidFloors, List<Pause> pauses,
                    List<TrainingProgram> programs, Budget budget, boolean kaslr) {
            this(boots, sizes, cpus, pidFloors, pauses, programs, budget, kaslr, GuestConfig.DEFAULT_CPU_MODEL);
        }

        /** A plan of nokaslr boots (the training boots' kind). */
        public Plan(int boots, List<Integer> sizes, List<Integer> cpus, List<Integer> pidFloors, List<Pause> pauses,
                    List<TrainingProgram> programs, Budget budget) {
            this(boots, sizes, cpus, pidFloors, pauses, programs, budget, false);
        }
    }

    /** One run of one program. */
    public record Run(int boot, int size, int cpus, int pidFloor, Pause pause, String observed, TrainingProgram program,
                      String input, Result result, String detail, long micros) {

        /** CSV of this run (see {@link #CSV_HEADER}). */
        public String csv() {
            return String.join(",", String.valueOf(boot), String.valueOf(size), String.valueOf(cpus), String.valueOf(pidFloor),
                    pause.name().toLowerCase(Locale.ROOT), observed, program.fileName(), input == null ? "" : input,
                    result.name().toLowerCase(Locale.ROOT), String.valueOf(micros), '"' + detail.replace("\"", "'") + '"');
        }

        /** The run a line of {@link #csv()} describes (a series resumed from its runs.csv). */
        public static Run parse(String line) {
            int quote = line.indexOf('"');
            if (quote < 0 || !line.endsWith("\"")) {
                throw new IllegalArgumentException("not a run line (no quoted detail): " + line);
            }
            String[] f = line.substring(0, quote).split(",", -1);
            if (f.length != 11) {
                throw new IllegalArgumentException("not a run line (" + (f.length - 1) + " fields before the detail, 10 expected): " + line);
            }
            return new Run(Integer.parseInt(f[0]), Integer.parseInt(f[1]), Integer.parseInt(f[2]), Integer.parseInt(f[3]),
                    Pause.valueOf(f[4].toUpperCase(Locale.ROOT)), f[5], TrainingProgram.valueOf(f[6].toUpperCase(Locale.ROOT)),
                    f[7].isEmpty() ? null : f[7], Result.valueOf(f[8].toUpperCase(Locale.ROOT)),
                    line.substring(quote + 1, line.length() - 1), Long.parseLong(f[9]));
        }
    }

    public static final String CSV_HEADER = "boot,processes,vcpus,pid_floor,pause,vcpu_observed,program,input,result,micros,detail";

    /** Told of each run as it ends, and of each boot. */
    public interface Listener {
        void boot(int boot, GuestConfig config, int pidFloor);

        void run(Run run);
    }

    private static final Duration EXEC = Duration.ofSeconds(120);

    private LiveSeries() { }

    /** Runs {@code plan} with the trained programs {@code trained} (one per program of the plan). */
    public static List<Run> run(LabLayout lab, Plan plan, List<Training.Trained> trained, Listener listener) {
        return run(lab, plan, trained, listener, 0);
    }

    /**
     * Runs boots {@code firstBoot} and later of {@code plan} (an interrupted series resumed: each boot takes
     * the same size, vCPUs and PID floor as it would have in one go).
     */
    public static List<Run> run(LabLayout lab, Plan plan, List<Training.Trained> trained, Listener listener, int firstBoot) {
        List<Run> out = new ArrayList<>();
        TaskListOracle tasks = plan.programs().contains(TrainingProgram.PSLIST)
                ? TaskListOracle.ofVmlinux(lab.kernelDir(lab.pinnedKernel()).resolve("vmlinux")) : null;
        for (int b = firstBoot; b < plan.boots(); b++) {
            int size = plan.sizes().get(b % plan.sizes().size());
            int cpus = plan.cpus().get(b % plan.cpus().size());
            int floor = plan.pidFloors().get(b % plan.pidFloors().size());
            GuestConfig config = lab.defaultConfig("series", lab.pinnedKernel()).withProcs(size).withCpus(cpus)
                    .withMemoryMiB(size > 1500 || cpus > 2 ? 1024 : lab.defaultConfig("x", lab.pinnedKernel()).memoryMiB())
                    .withKaslr(plan.kaslr()).withCpuModel(plan.cpuModel());
            listener.boot(b, config, floor);
            try (QemuGuest guest = QemuLauncher.start(config, Duration.ofSeconds(300))) {
                if (floor > 0) {
                    // a few processes above the floor: deeper PID trees, longer names (Variation's own script)
                    guest.exec(EXEC, List.of("/bin/sh", "-c", new Variation(20, floor, Variation.Launcher.EXEC, List.of(), 0)
                            .workloadScript(dev.vmsight.tracer.capture.Tracer.extraSleepersFile()))).stdoutOrThrow("moving PIDs to " + floor);
                }
                boolean first = true;
                for (Pause pause : plan.pauses()) {
                    load(guest, pause, cpus);
                    for (int k = 0; k < plan.programs().size(); k++) {
                        Run r = once(guest, b, size, cpus, floor, pause, trained.get(k), b, plan.budget(), first, tasks);
                        out.add(r);
                        listener.run(r);
                    }
                    first = false;
                }
            }
        }
        return out;
    }

    /**
     * One program on the paused guest against the guest's view. At a boot's first pause point
     * ({@code first}) the monitor runs before the guest's own view of what it reads (a listing of
     * /proc, /proc/modules, a comm file): its lookups are the first, cold ones, as on a guest nobody
     * ran ps on; the view is then read twice after it (the workload neither starts nor ends
     * processes). Time and the running task have no cache and are always read around the run.
     * A pslist answer is also held against the tasks list while the guest is still paused.
     */
    private static Run once(QemuGuest guest, int boot, int size, int cpus, int floor, Pause pause, Training.Trained t, int k,
                            Budget budget, boolean first, TaskListOracle tasks) {
        TrainingProgram p = TrainingProgram.valueOf(t.program().name().toUpperCase(Locale.ROOT));
        String input = null;
        String observed = "?";
        try {
            List<String> args = TrainingInputs.args(p, k, guest);
            input = args.isEmpty() ? null : args.get(0);
            boolean cold = first && p != TrainingProgram.GETTIME && p != TrainingProgram.GETPID;
            GuestView view = cold ? null : GuestView.before(guest, p, input);
            RunOutcome o;
            String tasksList = null;
            try (GuestSource s = GuestSources.of(guest, 0)) {
                observed = observed(s);
                o = ProgramRuns.runChecked(t.program(), t.monitor(), s, ProgramRuns.inputBytes(t.program(), input), budget);
                if (p == TrainingProgram.PSLIST && o instanceof RunOutcome.Answered a) {
                    tasksList = tasksListDifference(tasks, t, s, a.answer().numbers(), budget);
                }
            }
            long micros = o instanceof RunOutcome.Answered a ? a.micros() : 0;
            if (o instanceof RunOutcome.Answered a) {
                GuestView.Verdict v = cold ? GuestView.afterColdRun(guest, p, input, a.answer()) : view.after(guest, a.answer());
                Verdict j = judge(p, v.agrees(), v.detail(), tasksList);
                return new Run(boot, size, cpus, floor, pause, observed, p, input, j.result(), j.detail(), micros);
            }
            Result r = o instanceof RunOutcome.UnseenPath ? Result.UNSEEN_PATH : o instanceof RunOutcome.OverBudget ? Result.BUDGET
                    : Result.ERROR;
            return new Run(boot, size, cpus, floor, pause, observed, p, input, r, o.toText().lines().findFirst().orElse(""), 0);
        } catch (KernelCodeCheck.KernelMismatchException | dev.vmsight.guests.GuestException e) {
            return new Run(boot, size, cpus, floor, pause, observed, p, input, Result.ERROR, e.getMessage(), 0);
        }
    }

    /** An answer's result and what the CSV says of it. */
    record Verdict(Result result, String detail) { }

    /**
     * An answer judged by the guest's view ({@code viewAgrees}, {@code viewDetail}) and, for pslist,
     * by the tasks list ({@code tasksListDifference}: null when it agrees): the view contradicting
     * the answer is WRONG whatever the list says; the list is reported for every pslist answer.
     */
    static Verdict judge(TrainingProgram p, boolean viewAgrees, String viewDetail, String tasksListDifference) {
        Result r = !viewAgrees ? Result.WRONG : tasksListDifference != null ? Result.TASKS_LIST_DIFFERS : Result.CORRECT;
        String listed = p != TrainingProgram.PSLIST ? ""
                : "; " + (tasksListDifference == null ? "the tasks list agrees" : tasksListDifference);
        return new Verdict(r, viewDetail + listed);
    }

    /**
     * Null when the tasks list in {@code s}'s memory holds the PIDs {@code answer} lists, else what
     * differs (or why the list could not be walked).
     */
    static String tasksListDifference(TaskListOracle tasks, Training.Trained t, GuestSource s, List<Long> answer, Budget budget) {
        List<Long> walked;
        try {
            walked = tasks.pids(t.program(), s, budget);
        } catch (dev.vmsight.vmi.VmiException | dev.vmsight.merger.RunContext.ContextException e) {
            return "the tasks list could not be walked: " + e.getMessage();
        }
        java.util.TreeSet<Long> extra = new java.util.TreeSet<>(answer);
        walked.forEach(extra::remove);
        java.util.TreeSet<Long> missing = new java.util.TreeSet<>(walked);
        answer.forEach(missing::remove);
        if (extra.isEmpty() && missing.isEmpty()) return null;
        return "the tasks list (" + walked.size() + " leaders) differs: answered but not on the list " + head(extra)
                + ", on the list but not answered " + head(missing);
    }

    private static String head(java.util.SortedSet<Long> s) {
        return s.size() <= 10 ? s.toString() : s.stream().limit(10).toList() + " and " + (s.size() - 10) + " more";
    }

    /** What vCPU 0 was doing when the source paused the guest: idle (halted in the kernel), kernel or user. */
    static String observed(GuestSource s) {
        long cs = s.vcpu().find("cs").orElse(0);
        if ((cs & 3) == 3) {
            return "user";
        }
        String halted = s.vcpu().find("hlt").isPresent() && s.vcpu().find("hlt").getAsLong() != 0 ? "idle" : "kernel";
        return halted;
    }

    /** Starts (or stops) the pause point's load: one busy process per vCPU. */
    private static void load(QemuGuest guest, Pause pause, int cpus) {
        String kill = "[ -f /run/vmsight-series-load ] && kill $(cat /run/vmsight-series-load) 2>/dev/null; rm -f /run/vmsight-series-load; ";
        String body = switch (pause) {
            case IDLE -> "";
            case USER -> "while :; do :; done";
            case KERNEL -> "exec dd if=/dev/zero of=/dev/null bs=1M";
        };
        StringBuilder script = new StringBuilder(kill);
        for (int i = 0; i < cpus && pause != Pause.IDLE; i++) {
            script.append("setsid /bin/sh -c '").append(body).append("' </dev/null >/dev/null 2>&1 & echo $! >> /run/vmsight-series-load; ");
        }
        script.append("sleep 1; true");
        guest.exec(EXEC, List.of("/bin/sh", "-c", script.toString())).stdoutOrThrow("setting the " + pause + " load");
    }
}
