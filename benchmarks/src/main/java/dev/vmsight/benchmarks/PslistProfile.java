package dev.vmsight.benchmarks;

import dev.vmsight.jit.run.ProgramRuns;
import dev.vmsight.jit.run.RunOutcome;
import dev.vmsight.jit.run.TrainedEnvironment;
import dev.vmsight.jit.GuestPages;
import dev.vmsight.jit.MonitorContext;
import dev.vmsight.jit.MonitorResult;
import dev.vmsight.jit.PageSource;
import dev.vmsight.merger.MonitorSystemLayer;
import dev.vmsight.vmi.paging.AddressSpace;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Map;

/**
 * Where a compiled pslist run spends its time, on the same live guest as {@link PslistBenchmark}
 * (same system properties). Without touching jit-backend, one run is taken apart from outside:
 * <ul>
 *   <li>setup: the initial state from the live-ins, a fresh AddressSpace, the embedded user pages
 *       and a fresh GuestPages (what {@code ProgramRuns.runJit} builds per run);</li>
 *   <li>the trained environment, which {@code ProgramRuns.runJit} builds once per program (its
 *       cost is printed as a one-time cost, not per run);</li>
 *   <li>the compiled code ({@code CompiledMonitor.run}), and inside it the page source: every
 *       {@code page()} call is counted and timed (translation through the guest's page tables,
 *       or the embedded user half), so "pages" is paging plus the page views;</li>
 *   <li>what is left of the compiled run: generated code, dispatch between methods, budget checks,
 *       the monitor's own TLB and overlay;</li>
 *   <li>steps per run as the JIT counts them (back edges and method transfers).</li>
 * </ul>
 * The decomposed run is built as {@code ProgramRuns.runJit} builds it (trained environment, the
 * merger's system layer) and must take as many steps. Arguments: [RUNS] (default 20000) after as many
 * warm-up runs. Prints medians in µs.
 */
public final class PslistProfile {

    private PslistProfile() {}

    /** Counts and times the pages one run asks for. */
    private static final class TimedPages implements PageSource {
        private final PageSource inner;
        long calls;
        long nanos;

        TimedPages(PageSource inner) {
            this.inner = inner;
        }

        @Override
        public ByteBuffer page(long pageAddress) {
            long t = System.nanoTime();
            try {
                return inner.page(pageAddress);
            } finally {
                nanos += System.nanoTime() - t;
                calls++;
            }
        }
    }

    private record Sample(long setupNanos, long runNanos, long pageNanos, long pageCalls, long steps, long tlbMisses) { }

    private static Sample once(LivePslist live, TrainedEnvironment env) {
        long t0 = System.nanoTime();
        long[] state = ProgramRuns.initialState(live.program, ProgramRuns.userEntryView(live.source.vcpu()));
        AddressSpace space = AddressSpace.of(live.source.memory(), live.source.vcpu());
        Map<Long, byte[]> user = ProgramRuns.userPages(live.program, null);
        TimedPages pages = new TimedPages(new GuestPages(space, user));
        long t1 = System.nanoTime();
        MonitorResult r = live.monitor.run(new MonitorContext(state, pages, env, MonitorSystemLayer.INSTANCE, LivePslist.JIT_BUDGET));
        long t2 = System.nanoTime();
        if (!(r instanceof MonitorResult.Completed c)) {
            throw new IllegalStateException("the decomposed run did not complete: " + r);
        }
        return new Sample(t1 - t0, t2 - t1, pages.nanos, pages.calls, c.steps(), c.memory().misses());
    }

    private static double medianMicros(long[] nanos) {
        long[] s = nanos.clone();
        Arrays.sort(s);
        return s[s.length / 2] / 1e3;
    }

    public static void main(String[] args) {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 20_000;
        try (LivePslist live = LivePslist.open()) {
            RunOutcome full = live.jit();
            long steps = ((RunOutcome.Answered) full).steps();
            long e0 = System.nanoTime();
            TrainedEnvironment env = new TrainedEnvironment(live.program);
            long environment = System.nanoTime() - e0;
            for (int i = 0; i < runs; i++) {
                once(live, env);
                live.jit();
            }
            long[] total = new long[runs];
            long[] setup = new long[runs];
            long[] run = new long[runs];
            long[] page = new long[runs];
            long[] rest = new long[runs];
            Sample last = null;
            for (int i = 0; i < runs; i++) {
                long t = System.nanoTime();
                live.jit();
                total[i] = System.nanoTime() - t;
                last = once(live, env);
                if (last.steps() != steps) throw new IllegalStateException("decomposed run took " + last.steps() + " steps, runJit " + steps);
                setup[i] = last.setupNanos();
                run[i] = last.runNanos();
                page[i] = last.pageNanos();
                rest[i] = last.runNanos() - last.pageNanos();
            }
            long[] ref = new long[Math.max(5, Math.min(200, runs / 100))];
            for (int i = 0; i < ref.length; i++) {
                long t = System.nanoTime();
                live.reference();
                ref[i] = System.nanoTime() - t;
            }
            System.out.printf("runs: %d after %d warm-up; per run: %d steps, %d page() calls, %d monitor TLB misses%n",
                    runs, runs, last.steps(), last.pageCalls(), last.tlbMisses());
            System.out.printf("median µs  ProgramRuns.runJit (whole run, answer decoded): %.1f%n", medianMicros(total));
            System.out.printf("median µs  setup (live-ins, AddressSpace, user pages, GuestPages): %.1f%n", medianMicros(setup));
            System.out.printf("once µs    new TrainedEnvironment(program) (runJit builds it once per program): %.1f%n", environment / 1e3);
            System.out.printf("median µs  CompiledMonitor.run: %.1f%n", medianMicros(run));
            System.out.printf("median µs    in page() (paging walk + page view, %d calls, timer included): %.1f%n",
                    last.pageCalls(), medianMicros(page));
            System.out.printf("median µs    rest (generated code, dispatch, budget, monitor TLB/overlay): %.1f%n", medianMicros(rest));
            System.out.printf("median µs  reference executor (%d runs): %.1f%n", ref.length, medianMicros(ref));
        }
    }
}
