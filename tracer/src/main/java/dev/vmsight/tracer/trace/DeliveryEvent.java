package dev.vmsight.tracer.trace;

/**
 * An exception or interrupt delivered through the IDT after step {@code step}: vector, error code
 * pushed (-1 none), return RIP pushed, handler entered, why. {@code accesses} are the implicit
 * accesses (IDT, GDT, TSS reads; the frame pushed); {@code readLocs} the architectural locations
 * the delivery read (RSP, RFLAGS flag locations, CS, SS, ...) and {@code writtenLocs} those it
 * changed with their new values (RSP, RIP, CS, SS, IF, TF, NT, RF, CR2...).
 */
public record DeliveryEvent(long step, int vector, long errorCode, long returnRip, long handler, String cause,
                            MemoryAccess[] accesses, int[] readLocs, int[] writtenLocs, long[] writtenValues)
        implements TraceEvent {
    public DeliveryEvent {
        if (writtenLocs.length != writtenValues.length) {
            throw new IllegalArgumentException("delivery of vector " + vector + ": " + writtenLocs.length
                    + " written locations but " + writtenValues.length + " values");
        }
    }
}
