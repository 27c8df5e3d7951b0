package dev.vmsight.ir.interp;

/**
 * An x86 exception raised while executing a µop: its vector (0 = #DE, 6 = #UD, 13 = #GP,
 * 14 = #PF...), error code, the faulting address for #PF and the RIP of the instruction.
 * The interpreter's {@link FaultHandler} decides what happens next.
 */
public final class CpuFault extends RuntimeException {
    public static final int DE = 0, DB = 1, BP = 3, UD = 6, GP = 13, PF = 14;

    private final int vector;
    private final long errorCode;
    private final long address;

    public CpuFault(int vector, long errorCode, long address, String message) {
        // Guest faults are ordinary control flow in the system half: skip the stack trace.
        super(message, null, false, false);
        this.vector = vector;
        this.errorCode = errorCode;
        this.address = address;
    }

    public static CpuFault pageFault(long va, boolean write) {
        return new CpuFault(PF, write ? 2 : 0, va, "#PF at 0x" + Long.toHexString(va) + (write ? " (write)" : " (read)"));
    }

    public int vector() { return vector; }

    public long errorCode() { return errorCode; }

    /** The faulting linear address (#PF), else 0. */
    public long address() { return address; }
}
