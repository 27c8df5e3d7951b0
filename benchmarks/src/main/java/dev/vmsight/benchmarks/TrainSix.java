package dev.vmsight.benchmarks;

import dev.vmsight.cli.Labs;
import dev.vmsight.guests.TrainingProgram;
import dev.vmsight.jit.train.Training;

/**
 * Trains the six programs as {@code vmsight train} does (default runs and policy; the traced
 * corpus under .lab/corpus is reused, slicing and merging are redone) and prints
 * {@code NAME=PATH} of each program for benchmarks/run, which hands them to {@link ProgramsBenchmark}.
 */
public final class TrainSix {

    private TrainSix() {}

    public static void main(String[] args) {
        for (TrainingProgram p : TrainingProgram.values()) {
            Training.Trained t = Training.train(Labs.layout(), p, Training.defaultRuns(p), Training.DEFAULT_POLICY);
            System.err.printf("%s: %d instructions, %d guards; %s%n", p.fileName(), t.program().stats().instructions(),
                    t.program().stats().guards(), t.selfCheck().summary());
            System.out.println(p.fileName() + "=" + t.file().toAbsolutePath());
        }
    }
}
