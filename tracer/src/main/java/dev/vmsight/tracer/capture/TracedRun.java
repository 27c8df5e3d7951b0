package dev.vmsight.tracer.capture;

import dev.vmsight.tracer.trace.TraceSummary;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * One traced run, as {@link Tracer#trace} reports it.
 *
 * @param trace          the trace file (renamed {@code *.rejected} when fidelity failed)
 * @param snapshot       the START snapshot, or null when not saved
 * @param program        training program name
 * @param context        the header's context (variation, run index, prefix...)
 * @param summary        the trace summary (counts, replayed output, fidelity, replay time)
 * @param expectedOutput the output buffer QEMU left at END
 * @param prefixSteps    lockstep steps taken before QEMU was let go (last attempt)
 * @param retries        re-runs because the replay needed a value the prefix had not learned
 * @param learned        the values learned by the prefix, one line each
 * @param captureSeconds START to END in QEMU, snapshot and prefix included (last attempt)
 * @param totalSeconds   the whole run, retries and fidelity lockstep included
 * @param exitCode       the trainer's exit code
 * @param programOutput  its stdout and stderr
 * @param divergence     on rejection, the first divergence a full lockstep run found (or why none was found); else null
 */
public record TracedRun(Path trace, Path snapshot, String program, Map<String, String> context, TraceSummary summary,
                        byte[] expectedOutput, long prefixSteps, int retries, List<String> learned, double captureSeconds,
                        double totalSeconds, int exitCode, String programOutput, String divergence) {
    public TracedRun {
        context = Map.copyOf(context);
        learned = List.copyOf(learned);
    }

    public boolean fidelity() { return summary.fidelity(); }

    /** {@code pslist run 1: 251,234 instructions (2,012,345 µops; 250,900 kernel / 334 user), replay 3.1 s, fidelity OK}. */
    public String line() {
        return String.format("%s: %,d instructions (%,d µops; %,d kernel / %,d user), prefix %,d steps, %d retr%s, "
                        + "capture %.1f s, replay %.1f s, total %.1f s, fidelity %s",
                trace.getFileName(), summary.instructions(), summary.uops(), summary.kernelInstructions(),
                summary.userInstructions(), prefixSteps, retries, retries == 1 ? "y" : "ies", captureSeconds,
                summary.replaySeconds(), totalSeconds, fidelity() ? "OK" : "REJECTED");
    }
}
