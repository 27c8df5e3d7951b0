package dev.vmsight.tracer.lockstep;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The outcome of one lockstep run: steps taken (split by the privilege level each instruction
 * ran at), whether the END mark was reached, every divergence report (empty when QEMU and the
 * interpreter agreed at every step), the values learned from QEMU, how often a flag the SDM
 * leaves undefined for that instruction differed and QEMU's value was taken ("shl AF" → count),
 * and the program's exit code and output after it was let go.
 */
public record LockstepResult(String program, long steps, long kernelSteps, long userSteps, boolean reachedEnd,
                             List<String> divergences, List<String> learned, Map<String, Long> undefinedFlagsFromQemu,
                             double seconds,
                             int exitCode, String programOutput) {
    public LockstepResult {
        divergences = List.copyOf(divergences);
        learned = List.copyOf(learned);
        undefinedFlagsFromQemu = Collections.unmodifiableMap(new TreeMap<>(undefinedFlagsFromQemu));
    }

    /** {@code lockstep getpid: 1,234 steps (319 kernel, 915 user), 0 divergences, reached END in 4.1 s}. */
    public String summary() {
        return String.format("lockstep %s: %,d steps (%,d kernel, %,d user), %d divergence%s, %s in %.1f s (%.0f steps/s)",
                program, steps, kernelSteps, userSteps, divergences.size(), divergences.size() == 1 ? "" : "s",
                reachedEnd ? "reached END" : "stopped at the step budget before END", seconds, steps / Math.max(seconds, 1e-9))
                + (undefinedFlagsFromQemu.isEmpty() ? "" : "; SDM-undefined flags taken from QEMU: " + undefinedFlagsFromQemu);
    }
}
