package dev.vmsight.cli;

import dev.vmsight.guests.GuestConfig;
import dev.vmsight.guests.LabLayout;
import dev.vmsight.guests.TrainingProgram;
import dev.vmsight.jit.train.LiveSeries;
import dev.vmsight.jit.train.Training;
import dev.vmsight.slicer.GuardPolicy;
import dev.vmsight.vmi.Budget;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code vmsight reliability}: the live reliability series of README. Trains the programs (or
 * reuses their corpus), then boots the lab guest again and again (workload size, vCPUs and PID
 * floor cycling per boot) and runs every program at each pause point against the guest's own
 * view. Writes one CSV line per run and a Markdown table (per program: correct of runs per size
 * and pause point, every failure classified) to {@code --out}; prints the table.
 */
@Command(name = "reliability", mixinStandardHelpOptions = true,
        description = "Live reliability series: boots x pause points x workload sizes, every program against the guest's own view.")
final class ReliabilityCommand implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Option(names = "--boots", defaultValue = "120", description = "guest boots (default: ${DEFAULT-VALUE}: 30 per size)")
    int boots;

    @Option(names = "--sizes", split = ",", defaultValue = "10,300,1000,4000", description = "sleepers per boot, cycled (default: ${DEFAULT-VALUE})")
    List<Integer> sizes;

    @Option(names = "--cpus", split = ",", defaultValue = "1,2,4", description = "vCPUs per boot, cycled (default: ${DEFAULT-VALUE})")
    List<Integer> cpus;

    @Option(names = "--pid-floors", split = ",", defaultValue = "0,5000,300000,1100000",
            description = "20 more sleepers from this PID per boot, cycled; 0 none (default: ${DEFAULT-VALUE})")
    List<Integer> floors;

    @Option(names = "--pauses", split = ",", defaultValue = "idle,user,kernel", description = "pause points (default: ${DEFAULT-VALUE})")
    List<String> pauses;

    @Option(names = "--programs", split = ",", defaultValue = "getpid,gettime,pslist,getpsfile,lsmod,getdrvfile",
            description = "programs (default: all six)")
    List<String> programs;

    @Option(names = "--policy", description = "guard policy (default: ${DEFAULT-VALUE})")
    String policy = Training.DEFAULT_POLICY.name().toLowerCase(Locale.ROOT);

    @Option(names = "--out", description = "directory for runs.csv and table.md (default: .lab/reliability/<policy>-<boots>)")
    Path out;

    @Option(names = "--kaslr", description = "boot every guest with KASLR (the programs are trained on nokaslr boots)")
    boolean kaslr;

    @Option(names = "--cpu-model", paramLabel = "MODEL", defaultValue = dev.vmsight.guests.GuestConfig.DEFAULT_CPU_MODEL,
            description = "QEMU CPU model of every boot (default: ${DEFAULT-VALUE}, the training boots' model)")
    String cpuModel;

    @Option(names = "--resume", description = "keep the complete boots of --out's runs.csv and go on from the next one")
    boolean resume;

    @Override
    public Integer call() {
        PrintWriter w = spec.commandLine().getOut();
        LabLayout lab = Labs.layout();
        GuardPolicy guards = GuardPolicy.parse(policy);
        Path dir = out != null ? out : lab.root().resolve(".lab/reliability").resolve(policy + "-" + boots + (kaslr ? "-kaslr" : "")
                + (cpuModel.equals(dev.vmsight.guests.GuestConfig.DEFAULT_CPU_MODEL) ? "" : "-" + cpuModel));
        List<LiveSeries.Pause> pausePoints = pauses.stream().map(p -> LiveSeries.Pause.valueOf(p.trim().toUpperCase(Locale.ROOT))).toList();
        List<TrainingProgram> which = programs.stream().map(TrainCommand::program).toList();
        List<Training.Trained> trained = new ArrayList<>();
        for (TrainingProgram p : which) {
            Training.Trained t = Training.train(lab, p, Training.defaultRuns(p), guards);
            w.printf("trained %s: %s%n", p.fileName(), t.selfCheck().summary());
            w.flush();
            trained.add(t);
        }
        LiveSeries.Plan plan = new LiveSeries.Plan(boots, sizes, cpus, floors, pausePoints, which,
                Budget.of(2_000_000_000L, Duration.ofSeconds(30)), kaslr, cpuModel);
        List<String> csv = new ArrayList<>(List.of(LiveSeries.CSV_HEADER));
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + dir, e);
        }
        List<LiveSeries.Run> earlier = resume ? completeBoots(dir.resolve("runs.csv"), plan) : List.of();
        earlier.forEach(r -> csv.add(r.csv()));
        int firstBoot = earlier.isEmpty() ? 0 : earlier.get(earlier.size() - 1).boot() + 1;
        if (resume) {
            w.printf("resuming at boot %d/%d: %d runs of %s kept%n", firstBoot + 1, boots, earlier.size(), dir.resolve("runs.csv"));
        }
        long t0 = System.nanoTime();
        List<LiveSeries.Run> runs = new ArrayList<>(earlier);
        runs.addAll(LiveSeries.run(lab, plan, trained, new LiveSeries.Listener() {
            @Override public void boot(int boot, GuestConfig config, int pidFloor) {
                w.printf(Locale.ROOT, "boot %d/%d: %d sleepers, %d vCPU(s), %d MiB, PID floor %d%s (%.0f s so far)%n", boot + 1, boots,
                        config.procs(), config.cpus(), config.memoryMiB(), pidFloor, (config.kaslr() ? ", KASLR" : "") + (cpuModel.equals(dev.vmsight.guests.GuestConfig.DEFAULT_CPU_MODEL) ? "" : ", " + cpuModel),
                        (System.nanoTime() - t0) / 1e9);
                w.flush();
            }

            @Override public void run(LiveSeries.Run r) {
                csv.add(r.csv());
                if (r.result() != LiveSeries.Result.CORRECT) {
                    w.printf("  %s %s (%s, vCPU %s): %s %s%n", r.program().fileName(), r.input() == null ? "" : r.input(),
                            r.pause().name().toLowerCase(Locale.ROOT), r.observed(), r.result(), r.detail());
                    w.flush();
                }
                write(dir.resolve("runs.csv"), String.join("\n", csv) + "\n");
            }
        }, firstBoot));
        String table = table(runs, plan);
        write(dir.resolve("table.md"), table);
        w.println(table);
        w.printf(Locale.ROOT, "%d runs in %.0f s; %s%n", runs.size(), (System.nanoTime() - t0) / 1e9, dir);
        w.flush();
        return runs.stream().anyMatch(r -> r.result() == LiveSeries.Result.WRONG || r.result() == LiveSeries.Result.TASKS_LIST_DIFFERS) ? 1 : 0;
    }

    /**
     * The runs of {@code file}'s boots that ended (every pause point ran every program), in order; a boot the
     * series was interrupted in is run again. Boots must follow each other from 0: a file of another plan is refused.
     */
    static List<LiveSeries.Run> completeBoots(Path file, LiveSeries.Plan plan) {
        if (!Files.exists(file)) {
            return List.of();
        }
        List<String> lines;
        try {
            lines = Files.readAllLines(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
        if (lines.isEmpty() || !lines.get(0).equals(LiveSeries.CSV_HEADER)) {
            throw new IllegalArgumentException(file + ": not a runs.csv of this version (header " + (lines.isEmpty() ? "missing" : lines.get(0)) + ")");
        }
        Map<Integer, List<LiveSeries.Run>> byBoot = new TreeMap<>();
        for (int i = 1; i < lines.size(); i++) {
            if (lines.get(i).isBlank()) continue;
            try {
                LiveSeries.Run r = LiveSeries.Run.parse(lines.get(i));
                byBoot.computeIfAbsent(r.boot(), b -> new ArrayList<>()).add(r);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(file + " line " + (i + 1) + ": " + e.getMessage(), e);
            }
        }
        int perBoot = plan.pauses().size() * plan.programs().size();
        List<LiveSeries.Run> kept = new ArrayList<>();
        int expected = 0;
        for (Map.Entry<Integer, List<LiveSeries.Run>> e : byBoot.entrySet()) {
            if (e.getKey() != expected) {
                throw new IllegalArgumentException(file + ": boot " + e.getKey() + " follows boot " + (expected - 1) + "; not one series");
            }
            LiveSeries.Run first = e.getValue().get(0);
            int b = e.getKey();
            if (first.size() != plan.sizes().get(b % plan.sizes().size()) || first.cpus() != plan.cpus().get(b % plan.cpus().size())
                    || first.pidFloor() != plan.pidFloors().get(b % plan.pidFloors().size())) {
                throw new IllegalArgumentException(file + ": boot " + b + " ran " + first.size() + " sleepers on " + first.cpus()
                        + " vCPU(s), PID floor " + first.pidFloor() + "; this plan's boot " + b + " differs (same --sizes, --cpus, --pid-floors?)");
            }
            if (e.getValue().size() < perBoot) {
                break;
            }
            kept.addAll(e.getValue());
            expected++;
        }
        return kept;
    }

    /** Per program: correct of runs in each (size, pause) cell, and the failures by kind. */
    static String table(List<LiveSeries.Run> runs, LiveSeries.Plan plan) {
        StringBuilder s = new StringBuilder();
        s.append("| program |");
        List<String> cells = new ArrayList<>();
        for (int size : plan.sizes().stream().distinct().toList()) {
            for (LiveSeries.Pause p : plan.pauses()) {
                cells.add(size + "/" + p.name().toLowerCase(Locale.ROOT));
                s.append(' ').append(size).append(" procs, ").append(p.name().toLowerCase(Locale.ROOT)).append(" |");
            }
        }
        s.append(" all | wrong | failures |\n|---|");
        s.append("---|".repeat(cells.size() + 3)).append('\n');
        for (TrainingProgram prog : plan.programs()) {
            Map<String, int[]> byCell = new TreeMap<>();
            Map<LiveSeries.Result, Integer> failures = new EnumMap<>(LiveSeries.Result.class);
            int ok = 0, all = 0, wrong = 0;
            for (LiveSeries.Run r : runs) {
                if (r.program() != prog) continue;
                int[] c = byCell.computeIfAbsent(r.size() + "/" + r.pause().name().toLowerCase(Locale.ROOT), k -> new int[2]);
                c[1]++;
                all++;
                if (r.result() == LiveSeries.Result.CORRECT) {
                    c[0]++;
                    ok++;
                } else {
                    failures.merge(r.result(), 1, Integer::sum);
                    wrong += r.result() == LiveSeries.Result.WRONG ? 1 : 0;
                }
            }
            s.append("| ").append(prog.fileName()).append(" |");
            for (String cell : cells) {
                int[] c = byCell.getOrDefault(cell, new int[2]);
                s.append(' ').append(c[0]).append('/').append(c[1]).append(" |");
            }
            s.append(String.format(Locale.ROOT, " %d/%d (%.1f%%) | %d | %s |%n", ok, all, all == 0 ? 0 : 100.0 * ok / all, wrong,
                    failures.isEmpty() ? "none" : failures.toString()));
        }
        return s.toString();
    }

    private static void write(Path file, String text) {
        try {
            Files.writeString(file, text);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }
}
