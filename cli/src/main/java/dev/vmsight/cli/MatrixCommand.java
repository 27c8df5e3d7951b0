package dev.vmsight.cli;

import dev.vmsight.guests.KernelPackage;
import dev.vmsight.guests.LabLayout;
import dev.vmsight.guests.TrainingProgram;
import dev.vmsight.jit.train.LiveSeries;
import dev.vmsight.jit.train.Training;
import dev.vmsight.merger.CrossValidation;
import dev.vmsight.slicer.GuardPolicy;
import dev.vmsight.slicer.Slicer;
import dev.vmsight.tracer.capture.TrainingCorpus;
import dev.vmsight.vmi.Budget;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code vmsight matrix}: the kernel matrix of README. For each kernel package: its lab built,
 * each program regenerated from scratch (trace, slice, merge, compile, self-check: the time and
 * the share of µops the slice keeps), cross-validated on held-out runs of another boot (k = 4,
 * DATA), and run live against the guest's own view on a nokaslr boot and on KASLR boots, for
 * each CPU model: with the programs trained again on that model (the kernel patches itself by CPU
 * feature at boot), or with {@code --no-train-per-model} those of the first model, where the code
 * check decides. A Markdown table under {@code --out} (matrix.md), printed too, and every live run
 * in runs.csv.
 */
@Command(name = "matrix", mixinStandardHelpOptions = true,
        description = "Kernel matrix: per kernel package and CPU model, every program regenerated, cross-validated and checked live (nokaslr, KASLR).")
final class MatrixCommand implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Option(names = "--kernels", split = ",", paramLabel = "PACKAGE",
            description = "kernel image packages (default: the pinned one, its cloud and rt builds, ABI 47, and 6.12.118)")
    List<String> kernels;

    @Option(names = "--programs", split = ",", defaultValue = "getpid,gettime,pslist,getpsfile,lsmod,getdrvfile",
            description = "programs (default: all six)")
    List<String> programs;

    @Option(names = "--cpu-models", split = ",", defaultValue = "qemu64,Skylake-Server-v4", description = "CPU models of the live guests (default: ${DEFAULT-VALUE})")
    List<String> cpuModels;

    @Option(names = "--train-per-model", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "train the programs again on each CPU model after the first and check that model's guests with them "
                    + "(default: on; --no-train-per-model checks every model with the first model's programs)")
    boolean trainPerModel;

    @Option(names = "--kaslr-boots", defaultValue = "5", description = "KASLR boots per kernel and model (default: ${DEFAULT-VALUE})")
    int kaslrBoots;

    @Option(names = "--out", description = "directory for matrix.md (default: .lab/matrix)")
    Path out;

    /** One cell: a program on a kernel. */
    private record Cell(String kernel, String program, double regenerateSeconds, String sliceKept, String crossval,
                        Map<String, String> live, boolean corpusCached) { }

    @Override
    public Integer call() {
        PrintWriter w = spec.commandLine().getOut();
        LabLayout lab = Labs.layout();
        List<KernelPackage> packages = kernels != null ? kernels.stream().map(KernelPackage::parse).toList() : defaults(lab);
        List<TrainingProgram> which = programs.stream().map(TrainCommand::program).toList();
        Path dir = out != null ? out : lab.root().resolve(".lab/matrix");
        List<Cell> cells = new ArrayList<>();
        List<String> csv = new ArrayList<>(List.of("kernel,cpu_model,kaslr," + LiveSeries.CSV_HEADER));
        for (KernelPackage k : packages) {
            LabLayout lk = lab.withKernel(k);
            try {
                lk.build(k);
            } catch (RuntimeException e) {
                w.printf("%s: cannot be used: %s%n", k, e.getMessage());
                w.flush();
                continue;
            }
            List<Training.Trained> trained = new ArrayList<>();
            Map<TrainingProgram, double[]> times = new LinkedHashMap<>();
            Map<TrainingProgram, String> crossval = new LinkedHashMap<>();
            for (TrainingProgram p : which) {
                long t0 = System.nanoTime();
                Training.Trained t;
                try {
                    t = Training.train(lk, p, Training.defaultRuns(p), Training.DEFAULT_POLICY);
                } catch (RuntimeException e) {
                    w.printf("%s %s: training failed: %s%n", k, p.fileName(), e.getMessage());
                    w.flush();
                    cells.add(new Cell(k.packageName(), p.fileName(), (System.nanoTime() - t0) / 1e9, "failed", "", Map.of(), false));
                    continue;
                }
                times.put(p, new double[] {(System.nanoTime() - t0) / 1e9, t.traceNanos() / 1e9});
                trained.add(t);
                crossval.put(p, crossval(lk, p));
                w.printf(Locale.ROOT, "%s %s: regenerated in %.0f s, slice %s, crossval %s%n", k, p.fileName(),
                        times.get(p)[0], sliceKept(t), crossval.get(p));
                w.flush();
            }
            Map<TrainingProgram, Map<String, String>> live = new LinkedHashMap<>();
            for (String model : cpuModels) {
                List<Training.Trained> modelTrained = trained;
                if (trainPerModel && !model.equals(cpuModels.get(0))) {
                    modelTrained = new ArrayList<>();
                    for (TrainingProgram p : which) {
                        long t0 = System.nanoTime();
                        String column = model + ": trained";
                        try {
                            Training.Trained t = Training.train(lk.withCpuModel(model), p, Training.defaultRuns(p), Training.DEFAULT_POLICY);
                            modelTrained.add(t);
                            live.computeIfAbsent(p, x -> new LinkedHashMap<>()).put(column, String.format(Locale.ROOT, "%.0f s, slice %s%s",
                                    (System.nanoTime() - t0) / 1e9, sliceKept(t), t.selfCheck().passed() ? "" : ", self-check failed"));
                        } catch (RuntimeException e) {
                            live.computeIfAbsent(p, x -> new LinkedHashMap<>()).put(column, "failed: " + e.getMessage().lines().findFirst().orElse(""));
                        }
                        w.printf("%s %s on %s: %s%n", k, p.fileName(), model, live.get(p).get(column));
                        w.flush();
                    }
                }
                List<Training.Trained> forModel = modelTrained;
                List<TrainingProgram> ready = forModel.stream().map(t -> TrainCommand.program(t.program().name())).toList();
                for (boolean kaslr : new boolean[] {false, true}) {
                    String column = model + (kaslr ? ", KASLR" : ", nokaslr");
                    List<LiveSeries.Run> runs = ready.isEmpty() ? List.of() : LiveSeries.run(lk, new LiveSeries.Plan(kaslr ? kaslrBoots : 1,
                            List.of(300), List.of(2), List.of(5000), List.of(LiveSeries.Pause.IDLE, LiveSeries.Pause.USER), ready,
                            Budget.of(2_000_000_000L, Duration.ofSeconds(30)), kaslr, model), forModel, new LiveSeries.Listener() {
                                @Override public void boot(int boot, dev.vmsight.guests.GuestConfig config, int pidFloor) { }

                                @Override public void run(LiveSeries.Run r) {
                                    csv.add(k.packageName() + "," + model + "," + kaslr + "," + r.csv());
                                }
                            });
                    for (TrainingProgram p : ready) {
                        List<LiveSeries.Run> mine = runs.stream().filter(r -> r.program() == p).toList();
                        long ok = mine.stream().filter(r -> r.result() == LiveSeries.Result.CORRECT).count();
                        long wrong = mine.stream().filter(r -> r.result() == LiveSeries.Result.WRONG).count();
                        String why = mine.stream().filter(r -> r.result() != LiveSeries.Result.CORRECT).findFirst()
                                .map(r -> " (" + (r.detail().contains("is not running the kernel this program was trained on")
                                        ? "refused: the code check" : r.result().name().toLowerCase(Locale.ROOT)) + ")").orElse("");
                        live.computeIfAbsent(p, x -> new LinkedHashMap<>()).put(column, ok + "/" + mine.size()
                                + (wrong > 0 ? " **" + wrong + " wrong**" : "") + why);
                    }
                    w.printf("%s %s: %s%n", k, column, live.entrySet().stream().map(e -> e.getKey().fileName() + " " + e.getValue().get(column)).toList());
                    w.flush();
                }
            }
            for (Training.Trained t : trained) {
                TrainingProgram p = TrainCommand.program(t.program().name());
                cells.add(new Cell(k.packageName(), p.fileName(), times.get(p)[0], sliceKept(t), crossval.get(p), live.getOrDefault(p, Map.of()),
                        times.get(p)[1] < 1));
            }
            write(dir.resolve("matrix.md"), table(cells));   // after each kernel: a long matrix keeps what it measured
            write(dir.resolve("runs.csv"), String.join("\n", csv) + "\n");   // every live run, with its site when it refused
        }
        String table = table(cells);
        write(dir.resolve("matrix.md"), table);
        w.println(table);
        w.flush();
        return cells.stream().anyMatch(c -> c.live().values().stream().anyMatch(v -> v.contains("wrong**"))) ? 1 : 0;
    }

    /** The pinned kernel, its cloud and rt builds, the ABI 47 build and a kernel of the 6.12 series. */
    private static List<KernelPackage> defaults(LabLayout lab) {
        KernelPackage pinned = lab.pinnedKernel();
        return List.of(pinned, pinned.withFlavor("cloud-amd64"), pinned.withFlavor("rt-amd64"), KernelPackage.of("47", "amd64"),
                KernelPackage.parse("linux-image-6.12.118+deb12-amd64-unsigned"));
    }

    private static String sliceKept(Training.Trained t) {
        String detail = t.stages().stream().filter(s -> s.name().equals("slice")).reduce((a, b) -> b).map(Training.Stage::detail).orElse("");
        int of = detail.indexOf(" of ");
        return of < 0 ? detail : detail.substring(0, of);
    }

    /** Held-out answers at k = 4 under DATA: corpus runs 0-3 train, runs 4-7 (another boot) are held out. */
    private static String crossval(LabLayout lab, TrainingProgram p) {
        try {
            List<TrainingCorpus.Entry> corpus = TrainingCorpus.ensure(lab, p, 8);
            List<CrossValidation.Run> training = new ArrayList<>(), held = new ArrayList<>();
            for (int i = 0; i < corpus.size(); i++) {
                (i < 4 ? training : held).add(new CrossValidation.Run(corpus.get(i).trace(), corpus.get(i).snapshot()));
            }
            List<CrossValidation.Row> rows = CrossValidation.run(training, held, List.of(GuardPolicy.DATA), 1, 1,
                    Slicer.trainingBinary(lab.root(), p.fileName()), Duration.ofSeconds(120));
            List<CrossValidation.Row> full = rows.stream().filter(r -> r.k() == 4).toList();
            long ok = full.stream().filter(r -> r.outcome() == CrossValidation.Outcome.CORRECT).count();
            long wrong = full.stream().filter(r -> r.outcome() == CrossValidation.Outcome.WRONG).count();
            return ok + "/" + full.size() + (wrong > 0 ? " **" + wrong + " wrong**" : "");
        } catch (RuntimeException e) {
            return "failed: " + e.getMessage();
        }
    }

    private String table(List<Cell> cells) {
        List<String> columns = new ArrayList<>();
        for (String m : cpuModels) {
            if (trainPerModel && !m.equals(cpuModels.get(0))) columns.add(m + ": trained");
            columns.add(m + ", nokaslr");
            columns.add(m + ", KASLR");
        }
        StringBuilder b = new StringBuilder("| kernel | program | regenerate | slice keeps | crossval k=4 |");
        columns.forEach(c -> b.append(' ').append(c).append(" |"));
        b.append("\n|---|---|---|---|---|").append("---|".repeat(columns.size())).append('\n');
        for (Cell c : cells) {
            b.append(String.format(Locale.ROOT, "| %s | %s | %.0f s%s | %s | %s |", c.kernel(), c.program(), c.regenerateSeconds(),
                    c.corpusCached() ? " (corpus cached)" : "", c.sliceKept(), c.crossval()));
            for (String col : columns) b.append(' ').append(c.live().getOrDefault(col, "")).append(" |");
            b.append('\n');
        }
        return b.toString();
    }

    private static void write(Path file, String text) {
        try {
            Files.createDirectories(file.getParent());
            Files.writeString(file, text);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }
}
