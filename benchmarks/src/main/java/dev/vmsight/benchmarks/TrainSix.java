package dev.vmsight.benchmarks;

import dev.vmsight.cli.Labs;
import dev.vmsight.guests.LabLayout;
import dev.vmsight.guests.TrainingProgram;
import dev.vmsight.jit.train.Training;
import dev.vmsight.tracer.capture.TrainingCorpus;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Trains the six programs as {@code vmsight train} does (default runs and policy; slicing and
 * merging are redone) and prints {@code NAME=PATH} of each program for benchmarks/run, which hands
 * them to {@link ProgramsBenchmark}. With {@code retrace} as argument each program's traces under
 * .lab/corpus are deleted first, so its runs are traced again and the trace stage is measured;
 * without, a traced corpus is reused. With {@code -Dvmsight.stages=FILE}, one JSON line per program
 * goes there: its training stages (trace, slice, merge, calibrate, write, compile, self-check; the
 * rounds of slice, merge and calibrate summed) in seconds, and whether the corpus was traced.
 */
public final class TrainSix {

    private TrainSix() {}

    public static void main(String[] args) throws IOException {
        boolean retrace = args.length > 0 && args[0].equals("retrace");
        LabLayout lab = Labs.layout();
        String stagesFile = System.getProperty("vmsight.stages");
        StringBuilder lines = new StringBuilder();
        for (TrainingProgram p : TrainingProgram.values()) {
            if (retrace) {
                deleteTraces(TrainingCorpus.directory(lab, p));
            }
            int runs = Training.defaultRuns(p);
            Training.Trained t = Training.train(lab, p, runs, Training.DEFAULT_POLICY);
            System.err.printf("%s: %d instructions, %d guards; %s%n", p.fileName(), t.program().stats().instructions(),
                    t.program().stats().guards(), t.selfCheck().summary());
            System.out.println(p.fileName() + "=" + t.file().toAbsolutePath());
            Map<String, Double> seconds = new LinkedHashMap<>();
            for (Training.Stage s : t.stages()) {
                seconds.merge(s.name(), s.nanos() / 1e9, Double::sum);
            }
            lines.append(String.format(Locale.ROOT, "{\"program\": \"%s\", \"runs\": %d, \"traced\": %b, \"instructions\": %d, \"stages\": {%s}}%n",
                    p.fileName(), runs, retrace, t.program().stats().instructions(), seconds.entrySet().stream()
                            .map(e -> String.format(Locale.ROOT, "\"%s\": %.3f", e.getKey(), e.getValue())).collect(Collectors.joining(", "))));
        }
        if (stagesFile != null) {
            Files.writeString(Path.of(stagesFile), lines);
        }
    }

    /** Deletes the corpus's traces: TrainingCorpus.ensure then traces every run again (snapshots are overwritten). */
    private static void deleteTraces(Path dir) {
        if (!Files.isDirectory(dir)) return;
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(f -> f.getFileName().toString().endsWith(".trace")).toList()) {
                Files.delete(f);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete the traces of " + dir + " to trace them again", e);
        }
    }
}
