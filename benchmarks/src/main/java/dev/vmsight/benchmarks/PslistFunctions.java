package dev.vmsight.benchmarks;

import dev.vmsight.jit.run.ProgramRuns;
import dev.vmsight.merger.ReferenceExecutor;
import dev.vmsight.merger.RunContext;
import dev.vmsight.merger.RunResult;
import dev.vmsight.merger.Symbols;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What one pslist run executes, by kernel function: every guest instruction the reference
 * executor runs (the compiled monitor runs the same ones) counted at its address and named by the
 * training boot's kallsyms (beside the corpus of {@code vmsight.process}). The work a monitor does
 * is this instruction count; it is the denominator of any speed-up a code generator can give, and
 * what a faster monitor would have to stop executing. Same system properties as {@link
 * PslistBenchmark}; prints one JSON object: PIDs, instructions, and the functions, most executed
 * first.
 */
public final class PslistFunctions {

    private PslistFunctions() {}

    public static void main(String[] args) throws Exception {
        Path kallsyms = LivePslist.property("vmsight.process").toAbsolutePath().getParent().getParent().resolve("kallsyms");
        Symbols symbols = Symbols.readSystemMap(kallsyms);
        try (LivePslist live = LivePslist.open()) {
            RunContext.Attached attached = ProgramRuns.attach(live.program, live.source);
            Map<Long, long[]> byAddress = new HashMap<>();
            RunResult r = new ReferenceExecutor(live.program)
                    .observe((rip, state) -> byAddress.computeIfAbsent(rip, a -> new long[1])[0]++)
                    .run(attached.memory(), attached.vcpu(), new byte[0], LivePslist.REFERENCE_BUDGET.start());
            if (!(r instanceof RunResult.Answer answer)) {
                throw new IllegalStateException("the reference run gave no answer: " + r);
            }
            Map<String, long[]> byFunction = new HashMap<>();     // executions, distinct instructions
            long total = 0;
            for (Map.Entry<Long, long[]> e : byAddress.entrySet()) {
                long a = e.getKey();
                Map.Entry<Long, String> f = a >= 0 ? null : symbols.function(a);
                String name = a >= 0 ? "(user: the training program)" : f == null ? "(unnamed kernel)" : f.getValue();
                long[] c = byFunction.computeIfAbsent(name, k -> new long[2]);
                c[0] += e.getValue()[0];
                c[1]++;
                total += e.getValue()[0];
            }
            List<Map.Entry<String, long[]>> sorted = new ArrayList<>(byFunction.entrySet());
            sorted.sort(Comparator.comparingLong((Map.Entry<String, long[]> e) -> e.getValue()[0]).reversed());
            long pids = ReferenceExecutor.decode(answer.kind(), answer.bytes()).lines().count();
            StringBuilder json = new StringBuilder(String.format(Locale.ROOT,
                    "{\"pids\": %d, \"instructions\": %d, \"distinct\": %d, \"functions\": [", pids, total, byAddress.size()));
            for (int i = 0; i < sorted.size(); i++) {
                var e = sorted.get(i);
                json.append(i == 0 ? "" : ", ").append(String.format(Locale.ROOT, "{\"name\": \"%s\", \"instructions\": %d, \"distinct\": %d}",
                        e.getKey(), e.getValue()[0], e.getValue()[1]));
            }
            System.out.println(json.append("]}"));
        }
    }
}
