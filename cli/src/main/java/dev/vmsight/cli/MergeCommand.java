package dev.vmsight.cli;

import dev.vmsight.jit.train.Training;
import dev.vmsight.merger.MergedProgram;
import dev.vmsight.merger.Merger;
import dev.vmsight.merger.ProgramFiles;
import dev.vmsight.merger.SliceInput;
import dev.vmsight.slicer.GuardPolicy;
import dev.vmsight.slicer.Slicer;
import dev.vmsight.tracer.trace.TraceFiles;
import dev.vmsight.tracer.trace.TraceReader;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code vmsight merge TRACE... --policy P --out FILE}: slices the traces under the guard policy
 * (or keeps everything with {@code unsliced}), merges the slices and writes the program file.
 */
@Command(name = "merge", mixinStandardHelpOptions = true,
        description = "Slice traces of one training program and merge them into a program file.")
final class MergeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(arity = "1..*", paramLabel = "TRACE", description = "trace files of one training program")
    List<Path> traces;

    @Option(names = "--policy",
            description = "guard policy: strict, relaxed, virtuoso, or unsliced (every µop kept, every branch guarded); default ${DEFAULT-VALUE}")
    String policy = Training.DEFAULT_POLICY.name().toLowerCase(java.util.Locale.ROOT);

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "program file to write")
    Path out;

    @Option(names = "--binary", paramLabel = "ELF",
            description = "the training program's binary (malloc summaries); default .lab/training/bin/<program> when present")
    Path binary;

    @Override
    public Integer call() {
        List<TraceReader> readers = new ArrayList<>();
        try {
            for (Path t : traces) {
                readers.add(TraceFiles.open(t));
            }
            long t0 = System.nanoTime();
            SliceInput slice;
            if (policy.equalsIgnoreCase("unsliced")) {
                slice = SliceInput.unsliced();
            } else {
                GuardPolicy p = GuardPolicy.parse(policy);
                Optional<Path> elf = binary != null ? Optional.of(binary)
                        : Slicer.trainingBinary(Labs.layout().root(), readers.get(0).header().program());
                slice = SliceInput.of(Slicer.slice(readers, p, elf));
            }
            long t1 = System.nanoTime();
            Merger.Merge merge = Merger.merge(readers, slice);
            ProgramFiles.write(merge.program(), out);
            long t2 = System.nanoTime();
            MergedProgram.Statistics s = merge.program().stats();
            PrintWriter w = spec.commandLine().getOut();
            w.printf(Locale.ROOT, "%s: %s program of %d traces, %d instructions, %d blocks%n", out, merge.program().name(),
                    s.traces(), s.instructions(), s.blocks());
            w.printf(Locale.ROOT, "µops kept %d of %d executions (%.2f%%), %d of %d sites; %d branches, %d guards, %d followed; %d live-ins%n",
                    s.keptUopExecutions(), s.uopExecutions(), 100.0 * s.keptUopExecutions() / Math.max(1, s.uopExecutions()),
                    s.keptUopSites(), s.uopSites(), s.branches(), s.guards(), s.follows(), merge.program().liveIns().size());
            w.printf(Locale.ROOT, "slice %.2f s, merge %.2f s (policy %s)%n", (t1 - t0) / 1e9, (t2 - t1) / 1e9,
                    merge.program().policy());
            for (String note : merge.notes()) {
                w.println("note: " + note);
            }
            w.flush();
            return 0;
        } finally {
            for (TraceReader r : readers) {
                r.close();
            }
        }
    }
}
