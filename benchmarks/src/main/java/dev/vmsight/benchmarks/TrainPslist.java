package dev.vmsight.benchmarks;

import dev.vmsight.cli.Labs;
import dev.vmsight.jit.train.Training;
import dev.vmsight.guests.TrainingProgram;
import dev.vmsight.slicer.GuardPolicy;
import java.util.Locale;

/**
 * Trains pslist for the live benchmarks (corpus reused from .lab/corpus, traced only if missing)
 * and prints where the program and the process registers are, as {@code program=PATH} and
 * {@code process=PATH} lines for run-pslist.sh. Arguments: [POLICY] [RUNS], default
 * {@link Training#DEFAULT_POLICY} and {@link Training#defaultRuns} (what {@code vmsight train pslist}
 * gives a user: fewer runs miss paths a live guest takes, and the monitor refuses there).
 */
public final class TrainPslist {

    private TrainPslist() {}

    public static void main(String[] args) {
        GuardPolicy policy = args.length > 0 ? GuardPolicy.valueOf(args[0].toUpperCase(Locale.ROOT)) : Training.DEFAULT_POLICY;
        int runs = args.length > 1 ? Integer.parseInt(args[1]) : Training.defaultRuns(TrainingProgram.PSLIST);
        Training.Trained t = Training.train(Labs.layout(), TrainingProgram.PSLIST, runs, policy);
        System.err.printf("pslist (%s, %d runs): %d instructions, %d guards; slice %.1f s, merge %.1f s%n", policy, runs,
                t.program().stats().instructions(), t.program().stats().guards(), t.sliceNanos() / 1e9, t.mergeNanos() / 1e9);
        System.out.println("program=" + t.file().toAbsolutePath());
        System.out.println("process=" + t.corpus().get(0).snapshot().toAbsolutePath());
    }
}
