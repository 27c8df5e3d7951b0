package dev.vmsight.cli;

import dev.vmsight.jit.train.Training;
import dev.vmsight.slicer.GuardPolicy;
import dev.vmsight.slicer.SliceResult;
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
 * {@code vmsight slice TRACE... [--policy P]}: slices the traces together and prints the
 * statistics (kept / total µop executions, sites, control sites by role, disagreements). The
 * program is built by {@code vmsight merge}.
 */
@Command(name = "slice", mixinStandardHelpOptions = true,
        description = "Slice traces of one training program and print what the slice keeps.")
final class SliceCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(arity = "1..*", paramLabel = "TRACE", description = "trace files of one program (vmsight trace)")
    List<Path> traces;

    @Option(names = "--policy", paramLabel = "P",
            description = "one-direction branches: strict (all guarded), relaxed (those sliced code depends on), virtuoso (none); default ${DEFAULT-VALUE}")
    String policy = Training.DEFAULT_POLICY.name().toLowerCase(java.util.Locale.ROOT);

    @Option(names = "--binary", paramLabel = "ELF",
            description = "the training binary whose malloc/calloc/realloc/free become summaries (default .lab/training/bin/PROGRAM when present)")
    Path binary;

    @Option(names = "--disagreements", defaultValue = "10", paramLabel = "N", description = "print at most N disagreements")
    int shown;

    @Override
    public Integer call() {
        GuardPolicy p = GuardPolicy.parse(policy);
        List<TraceReader> readers = new ArrayList<>();
        try {
            for (Path t : traces) {
                readers.add(TraceFiles.open(t));
            }
            String program = readers.get(0).header().program();
            Optional<Path> elf = binary != null ? Optional.of(binary) : Slicer.trainingBinary(Labs.layout().root(), program);
            SliceResult r = Slicer.slice(readers, p, elf);
            print(r, program, elf);
            return 0;
        } finally {
            readers.forEach(TraceReader::close);
        }
    }

    private void print(SliceResult r, String program, Optional<Path> elf) {
        PrintWriter out = spec.commandLine().getOut();
        SliceResult.Statistics s = r.statistics();
        out.printf(Locale.ROOT, "program       %s, %d trace(s), policy %s%n", program, s.traces(),
                r.policy().name().toLowerCase(Locale.ROOT));
        out.printf(Locale.ROOT, "criterion     END 0x%x: rdi, rsi and %d output bytes at 0x%x%n",
                r.criterion().endAddress(), r.criterion().outputPhysicalBytes(), r.criterion().outputVa());
        out.printf(Locale.ROOT, "µops          %,d of %,d executions kept (%.2f%%)%n", s.keptUopExecutions(),
                s.uopExecutions(), 100 * s.keptFraction());
        out.printf(Locale.ROOT, "sites         %,d instructions with a kept µop of %,d (%,d site µops), %,d instances%n",
                s.keptSites(), s.sites(), s.keptSiteUops(), s.instructionInstances());
        out.printf(Locale.ROOT, "control       %,d branches, %,d guards, %,d followed%n", s.branches(), s.guards(),
                s.followed());
        out.printf(Locale.ROOT, "preprocessing %,d interrupt handlers dropped, %,d user page faults and %,d allocator calls summarised (%s), %,d input bytes loaded%n",
                s.asyncHandlersDropped(), s.userPageFaultsSummarised(), s.allocatorCallsSummarised(),
                elf.map(Path::toString).orElse("no training binary"), s.inputLoads());
        out.printf(Locale.ROOT, "closure       %d rounds, %,d deliveries kept, %.2f s%n", s.closureRounds(),
                s.deliveriesKept(), s.seconds());
        out.printf(Locale.ROOT, "summaries     %d call sites summarised, %d not (their summary leaked)%n", r.summaries().size(),
                r.summaryLeaks().size());
        r.summaryLeaks().forEach((call, why) -> out.println("  " + why));
        out.printf(Locale.ROOT, "disagreements %d%n", r.disagreements().size());
        r.disagreements().stream().limit(shown).forEach(d -> out.println("  " + d));
        out.flush();
    }
}
