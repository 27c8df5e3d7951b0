package dev.vmsight.cli;

import dev.vmsight.guests.LabLayout;
import dev.vmsight.guests.TrainingProgram;
import dev.vmsight.merger.CrossValidation;
import dev.vmsight.slicer.GuardPolicy;
import dev.vmsight.slicer.Slicer;
import dev.vmsight.tracer.capture.TrainingCorpus;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code vmsight crossval PROGRAM --traces N --heldout M}: corpus runs 0..N-1 train (random
 * subsets of each size k = 1..N, per policy), runs N..N+M-1 are held out; each held-out START
 * snapshot's answer is classified against the guest's own. Writes a CSV and a PNG.
 */
@Command(name = "crossval", mixinStandardHelpOptions = true,
        description = "Reliability of programs by number of training traces and guard policy (CSV + PNG).")
final class CrossvalCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "PROGRAM", description = "training program: getpid, gettime, pslist, ...")
    String program;

    @Option(names = "--traces", defaultValue = "3", description = "training runs N (subsets of size 1..N); default ${DEFAULT-VALUE}")
    int traces;

    @Option(names = "--heldout", defaultValue = "2", description = "held-out runs M; default ${DEFAULT-VALUE}")
    int heldout;

    @Option(names = "--subsets", defaultValue = "3", description = "random subsets per size; default ${DEFAULT-VALUE}")
    int subsets;

    @Option(names = "--policies", defaultValue = "strict,relaxed,virtuoso,data", split = ",",
            description = "guard policies; default ${DEFAULT-VALUE}")
    List<String> policies;

    @Option(names = "--seed", defaultValue = "1", description = "random seed; default ${DEFAULT-VALUE}")
    long seed;

    @Option(names = "--out", defaultValue = ".lab/crossval", paramLabel = "DIR", description = "output directory; default ${DEFAULT-VALUE}")
    Path out;

    @Override
    public Integer call() throws Exception {
        if (traces < 1 || heldout < 1 || subsets < 1) {
            throw new IllegalArgumentException("--traces, --heldout and --subsets must be at least 1");
        }
        TrainingProgram which;
        try {
            which = TrainingProgram.valueOf(program.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("no training program '" + program + "' (getpid, gettime, pslist, getpsfile, lsmod, getdrvfile)");
        }
        List<GuardPolicy> ps = new ArrayList<>();
        for (String p : policies) {
            ps.add(GuardPolicy.parse(p));
        }
        LabLayout lab = Labs.layout();
        List<TrainingCorpus.Entry> corpus = TrainingCorpus.ensure(lab, which, traces + heldout);
        List<CrossValidation.Run> training = new ArrayList<>();
        List<CrossValidation.Run> held = new ArrayList<>();
        for (int i = 0; i < corpus.size(); i++) {
            CrossValidation.Run r = new CrossValidation.Run(corpus.get(i).trace(), corpus.get(i).snapshot());
            (i < traces ? training : held).add(r);
        }
        List<CrossValidation.Row> rows = CrossValidation.run(training, held, ps, subsets, seed,
                Slicer.trainingBinary(lab.root(), which.fileName()), Duration.ofSeconds(120));
        Path dir = out.isAbsolute() ? out : lab.root().resolve(out);
        Files.createDirectories(dir);
        Path csv = dir.resolve(which.fileName() + ".csv");
        Path png = dir.resolve(which.fileName() + ".png");
        CrossValidation.writeCsv(rows, csv);
        CrossValidation.writePng(rows, ps, traces, which.fileName() + ": held-out answers by training traces (k) and policy", png);
        PrintWriter w = spec.commandLine().getOut();
        for (GuardPolicy p : ps) {
            for (int k = 1; k <= traces; k++) {
                int kk = k;
                List<CrossValidation.Row> cell = rows.stream().filter(r -> r.policy() == p && r.k() == kk).toList();
                w.printf(Locale.ROOT, "%-8s k=%d  correct %d  unseen %d  error %d  wrong %d%n", p.name().toLowerCase(Locale.ROOT), k,
                        count(cell, CrossValidation.Outcome.CORRECT), count(cell, CrossValidation.Outcome.UNSEEN_PATH),
                        count(cell, CrossValidation.Outcome.ERROR), count(cell, CrossValidation.Outcome.WRONG));
            }
        }
        w.println("wrote " + csv + " and " + png);
        w.flush();
        return 0;
    }

    private static long count(List<CrossValidation.Row> rows, CrossValidation.Outcome o) {
        return rows.stream().filter(r -> r.outcome() == o).count();
    }
}
