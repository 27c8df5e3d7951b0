package dev.vmsight.jit;

import dev.vmsight.vmi.BudgetExceededException;

import java.util.List;

/** How a monitor run ended. */
public sealed interface MonitorResult {

    /**
     * The program reached its end.
     *
     * @param state   final value of every ir Loc (the output buffer pointer is read from it)
     * @param memory  the run's memory, including the overlay of its writes (output decoders read it)
     * @param reports unseen indirect targets followed at REPORT_AND_FOLLOW sites
     * @param steps   back edges counted against the budget
     */
    record Completed(long[] state, MonitorMemory memory, List<UnseenPath> reports, long steps) implements MonitorResult { }

    /** A control site took a successor training never saw. */
    record Unseen(UnseenPath path) implements MonitorResult { }

    /** The budget ran out (a cyclic list, a wild loop). */
    record OverBudget(BudgetExceededException cause) implements MonitorResult { }

    /**
     * An instruction failed: unreadable memory, a CPU fault, a µop the context cannot run.
     *
     * @param reports unseen targets followed at REPORT_AND_FOLLOW sites before the failure (what a
     *                calibration run learned is not lost with the run)
     */
    record Failed(MonitorFault fault, List<UnseenPath> reports) implements MonitorResult { }
}
