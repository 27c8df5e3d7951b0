package dev.vmsight.jit.train;

import dev.vmsight.guests.KernelPackage;
import dev.vmsight.guests.LabLayout;
import dev.vmsight.guests.TrainingProgram;
import dev.vmsight.jit.CompiledMonitor;
import dev.vmsight.jit.run.ProgramRuns;
import dev.vmsight.merger.MergedProgram;
import dev.vmsight.merger.Merger;
import dev.vmsight.merger.ProgramFiles;
import dev.vmsight.merger.SliceInput;
import dev.vmsight.slicer.GuardPolicy;
import dev.vmsight.slicer.SliceResult;
import dev.vmsight.slicer.Slicer;
import dev.vmsight.tracer.capture.TrainingCorpus;
import dev.vmsight.tracer.trace.TraceFiles;
import dev.vmsight.tracer.trace.TraceReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * The training pipeline for one lab program, unattended, each stage timed: trace N runs (the
 * tracer's corpus under .lab/corpus, traced only if missing), slice under a guard policy, merge,
 * calibrate (DATA: see {@link Calibration}), write the program file
 * (.lab/programs/&lt;program&gt;-&lt;policy&gt;-&lt;runs&gt;[.&lt;release&gt;].vmprog: the release of a kernel other
 * than the lab's configured one), compile, and check that the
 * program answers each training run's own START snapshot as the guest did ({@link SelfCheck}).
 * Shared by {@code vmsight train}, the demo, the live lab tests, the reliability series and the
 * benchmarks.
 */
public final class Training {

    /**
     * The guard policy of every trained program unless a command or test names another. DATA: on
     * live guests of every size, pause point and vCPU count it answers where VIRTUOSO answers and,
     * outside its training, refuses with an unseen path where VIRTUOSO loops into the budget or
     * follows a path the kernel did not take (README "Guard policies").
     */
    public static final GuardPolicy DEFAULT_POLICY = GuardPolicy.DATA;

    /**
     * Training runs of a program unless told otherwise: one boot's four (a cold listing, one over
     * two getdents64 buffers, 7- and 6-digit PIDs: tracer's Variation); for getpsfile two cycles
     * of its six kinds of PID (a PID no process has, looked up in PID trees of 3 and 4 levels); for
     * lsmod two boots', the second with a sparse dentry hash table, because its one cold lookup
     * (/proc/modules) must meet both an empty bucket and a crowded one.
     */
    public static int defaultRuns(TrainingProgram program) {
        return switch (program) {
            case GETPSFILE -> 12;
            case LSMOD -> 8;
            default -> 4;
        };
    }

    /** Rounds of slicing after calibration found context guards, before the result is kept as it is. */
    static final int CALIBRATION_ROUNDS = 4;

    /** One stage of a training and what it took. */
    public record Stage(String name, long nanos, String detail) { }

    /** Told as stages end, and of what happens within a long one (the progress display of {@code vmsight train}). */
    public interface Progress {
        Progress NONE = new Progress() {
            @Override public void stageDone(Stage stage) { }

            @Override public void note(String line) { }
        };

        void stageDone(Stage stage);

        /** A line about the stage under way (a traced run, a boot). */
        void note(String line);
    }

    /**
     * A trained program, where it was written, the corpus it came from, its slice, the guards
     * calibration found deciding on the run's context, each stage's cost and the self-check.
     */
    public record Trained(MergedProgram program, Path file, List<TrainingCorpus.Entry> corpus, SliceResult slice,
                          Set<Long> contextGuards, List<Stage> stages, CompiledMonitor monitor, SelfCheck selfCheck) {

        /** Nanoseconds spent in stages of this name (all rounds). */
        public long nanos(String stage) {
            return stages.stream().filter(s -> s.name().equals(stage)).mapToLong(Stage::nanos).sum();
        }

        public long traceNanos() { return nanos("trace"); }

        public long sliceNanos() { return nanos("slice"); }

        public long mergeNanos() { return nanos("merge"); }
    }

    private Training() {}

    public static Trained train(LabLayout lab, TrainingProgram which, int runs, GuardPolicy policy) {
        return train(lab, which, runs, policy, Progress.NONE);
    }

    /**
     * A bundle directory for the agent: each of {@code programs} trained with its default runs under
     * the default policy, its .vmprog copied into {@code bundles} (replacing one of the same name).
     */
    public static List<Trained> trainInto(LabLayout lab, Path bundles, List<TrainingProgram> programs) {
        List<Trained> out = new ArrayList<>();
        try {
            Files.createDirectories(bundles);
            for (TrainingProgram p : programs) {
                Trained t = train(lab, p, defaultRuns(p), DEFAULT_POLICY);
                Files.copy(t.file(), bundles.resolve(t.file().getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                out.add(t);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot fill the bundle directory " + bundles + ": " + e.getMessage(), e);
        }
        return out;
    }

    /** Trains {@code which} on corpus runs 0..runs-1 under {@code policy}; {@code progress} hears of each stage. */
    public static Trained train(LabLayout lab, TrainingProgram which, int runs, GuardPolicy policy, Progress progress) {
        return train(lab, which, java.util.stream.IntStream.range(0, runs).boxed().toList(), policy, progress);
    }

    /**
     * Trains {@code which} on the corpus runs {@code runs} (indices, e.g. all but the one that took
     * some path, to see what a program does outside its training); the file is named by the runs
     * when they are not 0..n-1.
     */
    public static Trained train(LabLayout lab, TrainingProgram which, List<Integer> runs, GuardPolicy policy, Progress progress) {
        List<Stage> stages = new ArrayList<>();
        Timer timer = new Timer(stages, progress);
        int count = runs.stream().mapToInt(Integer::intValue).max().orElseThrow(() -> new IllegalArgumentException("no runs")) + 1;
        List<TrainingCorpus.Entry> all = TrainingCorpus.ensure(lab, which, count, progress::note);
        List<TrainingCorpus.Entry> corpus = runs.stream().map(all::get).toList();
        boolean prefix = runs.equals(java.util.stream.IntStream.range(0, runs.size()).boxed().toList());
        String label = prefix ? String.valueOf(runs.size()) : "runs" + String.join("+", runs.stream().map(String::valueOf).toList());
        timer.done("trace", runs.size() + " runs in " + lab.root().relativize(TrainingCorpus.directory(lab, which)));
        List<TraceReader> traces = new ArrayList<>();
        try {
            for (TrainingCorpus.Entry e : corpus) traces.add(TraceFiles.open(e.trace()));
            Set<Long> context = new TreeSet<>(Long::compareUnsigned);
            SliceResult slice;
            MergedProgram program;
            for (int round = 1; ; round++) {
                slice = Slicer.slice(traces, policy, Slicer.trainingBinary(lab.root(), which.fileName()), context);
                SliceResult.Statistics st = slice.statistics();
                timer.done("slice", String.format(Locale.ROOT, "%.1f%% of %,d µops kept, %d branches, %d guards",
                        100 * st.keptFraction(), st.uopExecutions(), st.branches(), st.guards()));
                program = Merger.merge(traces, SliceInput.of(slice)).program();
                timer.done("merge", program.stats().instructions() + " instructions");
                if (policy != GuardPolicy.DATA) {
                    break;
                }
                Calibration.Result c = Calibration.run(program, corpus);
                Set<Long> found = new TreeSet<>(c.contextGuards());
                found.removeAll(context);
                timer.done("calibrate", found.isEmpty() ? "no guard decided by the run's context"
                        : found.size() + (found.size() == 1 ? " guard" : " guards") + " decided by the run's context: " + hex(found));
                if (found.isEmpty() || round == CALIBRATION_ROUNDS) {
                    break;
                }
                context.addAll(found);
            }
            // the lab's configured kernel on qemu64 without KASLR: PROGRAM-POLICY-RUNS.vmprog; any other kernel:
            // .RELEASE before .vmprog, any other CPU model: .RELEASE.MODEL, KASLR boots: .kaslr after those, so
            // bundles of several kernels and models share a directory (vmsight run DIR, the agent)
            KernelPackage kernel = lab.pinnedKernel();
            boolean otherModel = !lab.cpuModel().equals(dev.vmsight.guests.GuestConfig.DEFAULT_CPU_MODEL);
            String release = kernel.equals(lab.configuredKernel()) && !otherModel && !lab.kaslr() ? "" : "." + kernel.release()
                    + (otherModel ? "." + lab.cpuModel() : "") + (lab.kaslr() ? ".kaslr" : "");
            Path file = lab.root().resolve(".lab/programs").resolve(which.fileName() + "-" + policy.name().toLowerCase(Locale.ROOT)
                    + "-" + label + release + ".vmprog");
            try {
                Files.createDirectories(file.getParent());
            } catch (IOException e) {
                throw new UncheckedIOException("cannot create " + file.getParent(), e);
            }
            ProgramFiles.write(program, file);
            timer.done("write", lab.root().relativize(file).toString());
            CompiledMonitor monitor = ProgramRuns.compile(program);
            timer.done("compile", monitor.methodSizes().size() + " methods");
            SelfCheck check = SelfCheck.run(program, monitor, corpus);
            timer.done("self-check", check.summary());
            return new Trained(program, file, corpus, slice, Set.copyOf(context), List.copyOf(stages), monitor, check);
        } finally {
            traces.forEach(TraceReader::close);
        }
    }

    private static String hex(Set<Long> sites) {
        return String.join(", ", sites.stream().map(a -> "0x" + Long.toHexString(a)).toList());
    }

    /** Times consecutive stages: each {@link #done} ends one begun at the previous. */
    private static final class Timer {
        private final List<Stage> stages;
        private final Progress progress;
        private long last = System.nanoTime();

        Timer(List<Stage> stages, Progress progress) {
            this.stages = stages;
            this.progress = progress;
        }

        void done(String name, String detail) {
            long now = System.nanoTime();
            Stage s = new Stage(name, now - last, detail);
            last = now;
            stages.add(s);
            progress.stageDone(s);
        }
    }
}
