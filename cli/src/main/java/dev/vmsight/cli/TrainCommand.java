package dev.vmsight.cli;

import dev.vmsight.guests.LabLayout;
import dev.vmsight.guests.QemuGuest;
import dev.vmsight.guests.QemuLauncher;
import dev.vmsight.guests.TrainingProgram;
import dev.vmsight.jit.run.GuestSource;
import dev.vmsight.jit.run.GuestSources;
import dev.vmsight.jit.run.ProgramRuns;
import dev.vmsight.jit.run.RunOutcome;
import dev.vmsight.jit.train.GuestView;
import dev.vmsight.jit.train.Training;
import dev.vmsight.slicer.GuardPolicy;
import dev.vmsight.tracer.capture.TrainingInputs;
import dev.vmsight.vmi.Budget;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code vmsight train PROGRAM}: from a built lab to a checked program file, unattended. Traces
 * the runs (the corpus, reused when present; inputs chosen from the guest for getpsfile and
 * getdrvfile), slices, merges, calibrates, compiles, checks the program on its own training
 * snapshots, then on a live guest of a new boot against the guest's own view. One line per stage
 * with its time, as it ends. Exit code 0 when both checks agree, 1 otherwise.
 */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Train a program (trace, slice, merge, calibrate, compile) and check it on its training snapshots and a live guest.")
final class TrainCommand implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "PROGRAM", description = "getpid, gettime, pslist, getpsfile, lsmod or getdrvfile")
    String programName;

    @Option(names = "--runs", description = "training runs (default: 4, one boot's; getpsfile 12, two per kind of PID)")
    Integer runs;

    @Option(names = "--policy", description = "guard policy: data, virtuoso, relaxed or strict (default: ${DEFAULT-VALUE})")
    String policy = Training.DEFAULT_POLICY.name().toLowerCase(Locale.ROOT);

    @Option(names = "--live", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "check the program on a live guest of a new boot (default: on; --no-live skips it)")
    boolean live;

    @Option(names = "--procs", defaultValue = "100", description = "sleepers of the live check's guest (default: ${DEFAULT-VALUE})")
    int procs;

    @Option(names = "--input", split = ",", paramLabel = "INPUT",
            description = "inputs the live check asks (getpsfile: PIDs; getdrvfile: module bases, 0x...); default: a sleeper's PID, "
                    + "the last module's base. Training itself takes every kind of input (tracer/README.md)")
    List<String> inputs = List.of();

    @picocli.CommandLine.Mixin KernelOptions kernelOptions = new KernelOptions();

    @Option(names = "--cpu", paramLabel = "MODEL",
            description = "QEMU CPU model of the training and live-check guests, e.g. Skylake-Server-v4 (default: VMSIGHT_CPU_MODEL, else qemu64); "
                    + "the bundle is named PROGRAM-POLICY-RUNS.RELEASE.MODEL.vmprog")
    String cpuModel;

    @Option(names = "--kaslr", description = "train on KASLR boots (each boot's runs traced together; the live check boots with KASLR too); "
            + "the bundle is named PROGRAM-POLICY-RUNS.RELEASE[.MODEL].kaslr.vmprog")
    boolean kaslr;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        TrainingProgram which = program(programName);
        if (!inputs.isEmpty() && which != TrainingProgram.GETPSFILE && which != TrainingProgram.GETDRVFILE) {
            throw new IllegalArgumentException(which.fileName() + " takes no input (--input is for getpsfile and getdrvfile)");
        }
        GuardPolicy guards = GuardPolicy.parse(policy);
        if (runs == null) {
            runs = Training.defaultRuns(which);
            if (kaslr && which == TrainingProgram.LSMOD) {
                runs = dev.vmsight.tracer.capture.TrainingCorpus.RUNS_PER_BOOT;   // one KASLR boot's runs (its own layout)
            }
        }
        if (runs < 1) throw new IllegalArgumentException("--runs must be at least 1, not " + runs);
        if (kaslr && runs > dev.vmsight.tracer.capture.TrainingCorpus.RUNS_PER_BOOT) {
            throw new IllegalArgumentException("--kaslr trains on the runs of one boot (each KASLR boot has its own kernel layout): --runs "
                    + dev.vmsight.tracer.capture.TrainingCorpus.RUNS_PER_BOOT + " at most, not " + runs
                    + (which == TrainingProgram.GETPSFILE ? " (getpsfile's default is 12)" : ""));
        }
        LabLayout lab = Labs.layout();
        lab = lab.withKernel(kernelOptions.resolve(lab));
        if (cpuModel != null) lab = lab.withCpuModel(cpuModel);
        if (kaslr) lab = lab.withKaslr(true);
        long t0 = System.nanoTime();
        out.printf("vmsight train %s: %s on %s%s, %d runs, policy %s%n", which.fileName(), lab.pinnedKernel(), lab.cpuModel(),
                lab.kaslr() ? " with KASLR" : "", runs,
                guards.name().toLowerCase(Locale.ROOT));
        out.flush();
        lab.build(lab.pinnedKernel());
        Training.Trained t = Training.train(lab, which, runs, guards, new Training.Progress() {
            @Override public void stageDone(Training.Stage s) {
                out.printf(Locale.ROOT, "  %-11s %7.1f s  %s%n", s.name(), s.nanos() / 1e9, s.detail());
                out.flush();
            }

            @Override public void note(String line) {
                out.println("              " + line);
                out.flush();
            }
        });
        boolean ok = t.selfCheck().passed();
        if (live) {
            ok &= liveCheck(lab, which, t, out);
        }
        out.printf(Locale.ROOT, "-> %s in %.1f s: %s%n", lab.root().relativize(t.file()), (System.nanoTime() - t0) / 1e9,
                ok ? "checked" : "NOT usable as trained (see the failed check above)");
        out.flush();
        return ok ? 0 : 1;
    }

    /** The program on a guest of a new boot, once per input, against the guest's own view; true when all agree. */
    private boolean liveCheck(LabLayout lab, TrainingProgram which, Training.Trained t, PrintWriter out) {
        long l0 = System.nanoTime();
        boolean all = true;
        try (QemuGuest guest = QemuLauncher.start(lab.defaultConfig("train-check", lab.pinnedKernel()).withProcs(procs))) {
            List<String> asked = !inputs.isEmpty() ? inputs
                    : TrainingInputs.args(which, 1, guest);    // the second kind of input (a sleeper, the last module)
            for (String input : asked.isEmpty() ? java.util.Collections.<String>singletonList(null) : asked) {
                GuestView.Verdict v = liveCheckOnce(guest, which, t, input);
                out.printf(Locale.ROOT, "  %-11s %7.1f s  a guest of a new boot, %d sleepers%s: %s (%s)%n", "live check",
                        (System.nanoTime() - l0) / 1e9, procs, input == null ? "" : ", input " + input,
                        v.agrees() ? "AGREE" : "DISAGREE", v.detail());
                out.flush();
                all &= v.agrees();
            }
        }
        return all;
    }

    private static GuestView.Verdict liveCheckOnce(QemuGuest guest, TrainingProgram which, Training.Trained t, String input) {
        GuestView view = GuestView.before(guest, which, input);
        RunOutcome o;
        try (GuestSource s = GuestSources.of(guest, 0)) {
            o = ProgramRuns.runChecked(t.program(), t.monitor(), s, ProgramRuns.inputBytes(t.program(), input),
                    Budget.of(50_000_000, Duration.ofSeconds(10)));
        }
        if (!(o instanceof RunOutcome.Answered a)) {
            return new GuestView.Verdict(false, "monitor: " + o.toText());
        }
        return view.after(guest, a.answer());
    }

    static TrainingProgram program(String name) {
        for (TrainingProgram p : TrainingProgram.values()) {
            if (p.fileName().equals(name)) return p;
        }
        throw new IllegalArgumentException("no training program '" + name + "' (getpid, gettime, pslist, getpsfile, lsmod, getdrvfile)");
    }
}
