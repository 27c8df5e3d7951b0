package dev.vmsight.vmi;

/**
 * What a monitor run can report instead of an answer: the guest's memory could not be read as the
 * program expected ({@link GuestMemoryException}) or the run exceeded its {@link Budget}
 * ({@link BudgetExceededException}). Monitors and the JIT report these as-is; any other exception
 * out of a run is a bug in vmsight, not a property of the guest. Both carry data, not only text,
 * and skip the stack trace: a hostile guest can make them frequent.
 */
public abstract sealed class VmiException extends RuntimeException
        permits GuestMemoryException, BudgetExceededException {

    VmiException(String message, Throwable cause) {
        super(message, cause, false, false);
    }
}
