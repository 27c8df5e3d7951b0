package dev.vmsight.vmi;

/**
 * What a monitor run can report instead of an answer: the guest's memory could not be read as the
 * program expected ({@link GuestMemoryException}), the run exceeded its {@link Budget}
 * ({@link BudgetExceededException}), or the memory read does not hold the structure a
 * hand-written walker expects ({@link GuestStructureException}). Monitors and the JIT report these
 * as-is; any other exception out of a run is a bug in vmsight, not a property of the guest. They carry data, not only text,
 * and skip the stack trace: a hostile guest can make them frequent.
 */
public abstract sealed class VmiException extends RuntimeException
        permits GuestMemoryException, BudgetExceededException, GuestStructureException {

    VmiException(String message, Throwable cause) {
        super(message, cause, false, false);
    }
}
