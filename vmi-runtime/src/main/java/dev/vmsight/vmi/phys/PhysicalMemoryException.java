package dev.vmsight.vmi.phys;

/**
 * A guest-physical read failed. Carries the source, the failing address and the length asked for;
 * the message gives the address in hex.
 */
public final class PhysicalMemoryException extends RuntimeException {
    private final String source;
    private final long address;
    private final long length;

    public PhysicalMemoryException(String source, long address, long length, String reason) {
        this(source, address, length, reason, null);
    }

    public PhysicalMemoryException(String source, long address, long length, String reason, Throwable cause) {
        super(source + ": cannot read " + length + " bytes at guest-physical 0x" + Long.toHexString(address)
                + ": " + reason, cause);
        this.source = source;
        this.address = address;
        this.length = length;
    }

    /** The memory source that failed (its {@link PhysicalMemory#describe()}). */
    public String source() { return source; }

    /** The first guest-physical address that could not be read. */
    public long address() { return address; }

    /** How many bytes were asked for from {@link #address()}. */
    public long length() { return length; }
}
