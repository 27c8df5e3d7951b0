package dev.vmsight.cli;

import dev.vmsight.guests.LabInstance;

import dev.vmsight.guests.Guest;
import dev.vmsight.guests.LabLayout;
import dev.vmsight.guests.QemuGuest;
import dev.vmsight.guests.TrainingProgram;
import dev.vmsight.tracer.capture.TraceOptions;
import dev.vmsight.tracer.capture.TracedRun;
import dev.vmsight.tracer.capture.Tracer;
import dev.vmsight.tracer.capture.Variation;
import dev.vmsight.tracer.lockstep.Lockstep;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code vmsight trace PROGRAM}: whole-system traces of a training program, each checked against
 * the guest's own answer (fidelity), one per run, the runs varied on purpose (workload size,
 * parent process, open descriptors).
 */
@Command(name = "trace", mixinStandardHelpOptions = true,
        description = "Trace a training program START..END on the lab guest (boots one, or --attach to 'lab boot''s), "
                + "replayed in the emulator and checked against the guest's own output; one trace file per run.")
final class TraceCommand implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "PROGRAM", description = "training program: getpid, gettime, pslist, getpsfile, lsmod, getdrvfile")
    String program;

    @Option(names = "--runs", defaultValue = "1", description = "traced runs, each with another variation (default: ${DEFAULT-VALUE})")
    int runs;

    @Option(names = "--input", arity = "1..*", paramLabel = "ARG", description = "arguments for the program (getpsfile PID, getdrvfile BASE)")
    List<String> input = new ArrayList<>();

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "traces", description = "where trace files go (default: ${DEFAULT-VALUE})")
    Path out;

    @Option(names = "--attach", paramLabel = "NAME", description = "use the running lab guest NAME (vmsight lab boot, 1 vCPU) instead of booting one")
    String attach;

    @ArgGroup(exclusive = true)
    Afterwards afterwards;

    static final class Afterwards {
        @Option(names = "--shutdown", description = "stop the guest afterwards (default for a guest this command booted)")
        boolean shutdown;

        @Option(names = "--keep", description = "leave the guest running afterwards (default with --attach); a booted one "
                + "is left as lab guest '" + Labs.DEFAULT_NAME + "'")
        boolean keep;
    }

    // defaults from TraceOptions.DEFAULTS: the budget is set in one place (picocli shows the initial value)
    @Option(names = "--max-instructions", paramLabel = "N",
            description = "replay budget in instructions (default: ${DEFAULT-VALUE})")
    long maxInstructions = TraceOptions.DEFAULTS.maxInstructions();

    @Option(names = "--max-seconds", paramLabel = "S",
            description = "budget in seconds for QEMU to reach END and for the replay (default: ${DEFAULT-VALUE})")
    double maxSeconds = TraceOptions.DEFAULTS.maxSeconds();

    @Option(names = "--save-snapshot", description = "also write each run's START snapshot (RUN.snapshot)")
    boolean saveSnapshot;

    @Override
    public Integer call() {
        TrainingProgram p = parseProgram(program);
        if (runs < 1) {
            throw new IllegalArgumentException("--runs must be at least 1, not " + runs);
        }
        TraceOptions options = TraceOptions.DEFAULTS.withMaxInstructions(maxInstructions).withMaxSeconds(maxSeconds)
                .withSaveSnapshot(saveSnapshot);
        PrintWriter stdout = spec.commandLine().getOut();
        LabLayout lab = Labs.layout();
        boolean keep = afterwards != null ? afterwards.keep : attach != null;
        QemuGuest guest = guest(lab, keep);
        int rejected = 0;
        try {
            long t0 = System.nanoTime();
            Tracer tracer = new Tracer(guest, lab, options, System.console() != null ? System.err : null);
            if (System.console() != null) {
                tracer.setProgress(new ProgressBar(System.err, maxInstructions));
            }
            stdout.printf("guest '%s': kernel %s (.text sha256 %s...), %d vCPU, %d MiB%n", guest.name(),
                    tracer.guestIdentity().kernelRelease(), tracer.guestIdentity().kernelTextSha256().substring(0, 16),
                    tracer.guestIdentity().vcpus(), tracer.guestIdentity().memoryBytes() >> 20);
            for (int i = 0; i < runs; i++) {
                Variation v = Variation.cycle(i);
                Path file = out.resolve(p.fileName() + "-run-" + i + ".trace");
                TracedRun r = tracer.trace(p, input, v, i, file);
                stdout.println(r.line());
                stdout.flush();
                stdout.println("  variation: " + v.context());
                if (!r.fidelity()) {
                    rejected++;
                    stdout.println("  REJECTED: " + r.divergence());
                }
                if (r.snapshot() != null) {
                    stdout.println("  snapshot: " + r.snapshot());
                }
            }
            tracer.resetWorkload();
            stdout.printf("%d run%s, %d with fidelity, %d rejected, %.1f s%n", runs, runs == 1 ? "" : "s", runs - rejected, rejected,
                    (System.nanoTime() - t0) / 1e9);
        } finally {
            if (keep) {
                Labs.release(guest);
            } else {
                guest.close();
                if (attach != null) {
                    LabInstance.delete(lab.runDir(attach));
                }
            }
        }
        return rejected == 0 ? 0 : 1;
    }

    private QemuGuest guest(LabLayout lab, boolean keep) {
        if (attach != null) {
            Guest g = Labs.attach(lab, attach);
            if (!(g instanceof QemuGuest q)) {
                Labs.release(g);
                throw new IllegalArgumentException("lab guest '" + attach + "' is a libvirt domain; tracing needs a QEMU guest "
                        + "with a gdbstub (vmsight lab boot without --libvirt)");
            }
            return q;
        }
        QemuGuest q = Lockstep.bootGuest(lab, keep ? Labs.DEFAULT_NAME : "trace");
        if (keep) {
            new LabInstance(LabInstance.Kind.QEMU, q.config(), null).save();
        }
        return q;
    }

    private static TrainingProgram parseProgram(String name) {
        try {
            return TrainingProgram.valueOf(name.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("no training program '" + name + "' (getpid, gettime, pslist, getpsfile, lsmod, getdrvfile)");
        }
    }

    /** A one-line progress bar on a terminal: replayed instructions against the budget. */
    private static final class ProgressBar implements Tracer.Progress {
        private final PrintStream err;
        private final long budget;

        ProgressBar(PrintStream err, long budget) {
            this.err = err;
            this.budget = budget;
        }

        @Override
        public void replayed(String program, long steps) {
            int width = 30, filled = (int) Math.min(width, steps * width / Math.max(1, budget));
            err.printf("\r%s replay [%s%s] %,d instructions", program, "#".repeat(filled), ".".repeat(width - filled), steps);
        }

        @Override
        public void done() {
            err.print("\r" + " ".repeat(78) + "\r");
        }
    }
}
