package dev.vmsight.merger;

import dev.vmsight.merger.MergedProgram.OutputKind;

/** What a run of a merged program gives: the answer, an unseen path, or a structured failure. Never a raw exception. */
public sealed interface RunResult permits RunResult.Answer, RunResult.UnseenPath, RunResult.Failure {
    /** Instructions executed. */
    long steps();

    /** The output buffer at END (rdi, rsi) and its decoding. */
    record Answer(OutputKind kind, byte[] bytes, String text, long steps) implements RunResult { }

    /**
     * A control site went where training never went: {@code observed} is the successor computed
     * now, {@code expected} the trained ones.
     */
    record UnseenPath(long site, long observed, long[] expected, long steps) implements RunResult {
        @Override public String toString() {
            StringBuilder b = new StringBuilder("UnseenPath at 0x" + Long.toHexString(site) + ": went to 0x"
                    + Long.toHexString(observed) + ", trained");
            for (long e : expected) {
                b.append(" 0x").append(Long.toHexString(e));
            }
            return b.append(" (").append(steps).append(" steps)").toString();
        }
    }

    /** Why a run failed. */
    enum FailureKind {
        /** guest memory could not be read as the program expected (address and why in the message) */
        BAD_ADDRESS,
        /** the step or time budget ran out */
        BUDGET,
        /** a live-in register the VcpuState does not have */
        MISSING_LIVE_IN,
        /** the run reached an address that is not an instruction of the program */
        OFF_PROGRAM,
        /** the instruction raised an exception (the reference executor does not deliver them) */
        CPU_FAULT,
        /** a µop the reference executor does not implement (environment inputs, port I/O...) */
        UNSUPPORTED,
        /** the output buffer at END is not readable or too large */
        BAD_OUTPUT,
        /** the input given does not fit the program's input buffer */
        BAD_INPUT,
        /** calls nested deeper than the frame stack allows (runaway recursion, e.g. driven by the guest's data) */
        FRAME_DEPTH,
        /** a BRANCH/GUARD site whose control µop the slice did not keep: its successor cannot be computed */
        INCOMPLETE_SLICE,
        /** a bug in vmsight: the message says where */
        INTERNAL
    }

    /** A failure at instruction {@code site} (0: before the first). */
    record Failure(FailureKind kind, long site, String message, long steps) implements RunResult {
        @Override public String toString() {
            return kind + " at 0x" + Long.toHexString(site) + ": " + message + " (" + steps + " steps)";
        }
    }
}
