package dev.vmsight.vmi;

/**
 * Guest memory was readable but does not hold the structure a walker expects: a list that never
 * returns to its head, a count past any kernel's limit. {@link #address()} is where the walk
 * stopped making sense. A hostile guest (a cyclic list planted by a rootkit) ends here, not in a hang.
 */
public final class GuestStructureException extends VmiException {
    private final long address;

    public GuestStructureException(long address, String detail) {
        super("guest structure at 0x" + Long.toHexString(address) + ": " + detail, null);
        this.address = address;
    }

    /** The guest-virtual address where the walk stopped. */
    public long address() { return address; }
}
