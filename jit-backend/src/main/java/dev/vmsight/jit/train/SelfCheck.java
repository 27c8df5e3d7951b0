package dev.vmsight.jit.train;

import dev.vmsight.jit.CompiledMonitor;
import dev.vmsight.jit.run.Answer;
import dev.vmsight.jit.run.GuestSource;
import dev.vmsight.jit.run.GuestSources;
import dev.vmsight.jit.run.ProgramRuns;
import dev.vmsight.jit.run.RunOutcome;
import dev.vmsight.merger.MergedProgram;
import dev.vmsight.tracer.capture.TrainingCorpus;
import dev.vmsight.tracer.trace.TraceFiles;
import dev.vmsight.tracer.trace.TraceReader;
import dev.vmsight.vmi.Budget;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Does the compiled program answer each of its training runs' START snapshots as the guest did
 * there (the trainer's own output at END), running as a monitor does? A training that fails here
 * produced a program that cannot be trusted on anything else.
 *
 * @param checks one per training run
 */
public record SelfCheck(List<Check> checks) {

    /** One training run: the guest's answer there and the monitor's outcome. */
    public record Check(String run, Answer expected, RunOutcome outcome) {
        public boolean agrees() {
            return outcome instanceof RunOutcome.Answered a && a.answer().numbers().equals(expected.numbers())
                    && java.util.Objects.equals(a.answer().text(), expected.text());
        }
    }

    public SelfCheck {
        checks = List.copyOf(checks);
    }

    public boolean passed() {
        return checks.stream().allMatch(Check::agrees);
    }

    /** "3 of 3 training snapshots answered as the guest did" and, for each that did not, what happened. */
    public String summary() {
        long ok = checks.stream().filter(Check::agrees).count();
        StringBuilder s = new StringBuilder(ok + " of " + checks.size() + " training snapshots answered as the guest did");
        for (Check c : checks) {
            if (!c.agrees()) {
                s.append("; ").append(c.run()).append(": ").append(c.outcome().toText().lines().findFirst().orElse(""));
            }
        }
        return s.toString();
    }

    static SelfCheck run(MergedProgram program, CompiledMonitor monitor, List<TrainingCorpus.Entry> corpus) {
        List<Check> checks = new ArrayList<>();
        for (TrainingCorpus.Entry e : corpus) {
            byte[] input;
            Answer expected;
            try (TraceReader t = TraceFiles.open(e.trace())) {
                input = t.header().input().bytes();
                expected = Answer.decode(program.name(), program.output().kind(), t.header().expectedOutput().bytes());
            }
            try (GuestSource s = GuestSources.snapshot(e.snapshot())) {
                RunOutcome o = ProgramRuns.runJit(program, monitor, ProgramRuns.attach(program, s), input,
                        Budget.of(100_000_000, Duration.ofSeconds(30)));
                checks.add(new Check(e.snapshot().getFileName().toString(), expected, o));
            }
        }
        return new SelfCheck(checks);
    }
}
