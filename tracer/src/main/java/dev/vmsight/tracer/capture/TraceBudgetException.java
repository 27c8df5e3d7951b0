package dev.vmsight.tracer.capture;

/**
 * A training program that did not reach its END mark within the run's budget (instructions in
 * the replay, seconds in QEMU or in the replay): the run is stopped and this names the program,
 * the budget and where it was.
 */
public final class TraceBudgetException extends RuntimeException {
    public TraceBudgetException(String message) { super(message); }

    public TraceBudgetException(String message, Throwable cause) { super(message, cause); }
}
