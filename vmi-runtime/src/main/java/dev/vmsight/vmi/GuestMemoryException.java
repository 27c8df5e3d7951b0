package dev.vmsight.vmi;

/**
 * A guest-virtual or guest-physical access that cannot be satisfied. {@link #kind()} says why;
 * {@link #linearAddress()} is the address the program asked for (or -1 for a physical access),
 * {@link #physicalAddress()} the physical address involved (the page-table entry's for
 * {@link Kind#NOT_PRESENT} and {@link Kind#RESERVED_BITS}, the data's for
 * {@link Kind#PHYSICAL_UNREADABLE}), {@link #level()} the paging level (5..1) where the walk stopped, or 0.
 */
public final class GuestMemoryException extends VmiException {

    /** Why the access failed. */
    public enum Kind {
        /** The linear address is not canonical for the paging mode (48 or 57 bits). */
        NON_CANONICAL,
        /** A paging-structure entry on the way has P=0. */
        NOT_PRESENT,
        /** A paging-structure entry has reserved bits set (above MAXPHYADDR, PS where no large page exists). */
        RESERVED_BITS,
        /** The physical address is outside the memory map, or the source could not read it. */
        PHYSICAL_UNREADABLE,
        /** The page denies the access and the address space was asked to enforce permissions (user, NX). */
        PROTECTION,
        /** A write to memory that is read-only by construction (an address space without an overlay). */
        READ_ONLY
    }

    private final Kind kind;
    private final long linearAddress;
    private final long physicalAddress;
    private final int level;
    private final String detail;

    public GuestMemoryException(Kind kind, long linearAddress, long physicalAddress, int level, String detail) {
        this(kind, linearAddress, physicalAddress, level, detail, null);
    }

    public GuestMemoryException(Kind kind, long linearAddress, long physicalAddress, int level, String detail, Throwable cause) {
        super(message(kind, linearAddress, physicalAddress, level, detail), cause);
        this.kind = kind;
        this.linearAddress = linearAddress;
        this.physicalAddress = physicalAddress;
        this.level = level;
        this.detail = detail;
    }

    private static String message(Kind kind, long va, long pa, int level, String detail) {
        StringBuilder b = new StringBuilder("guest memory: ").append(kind.name().toLowerCase().replace('_', '-'));
        if (va != -1) b.append(" at linear 0x").append(Long.toHexString(va));
        if (pa != -1) b.append(level > 0 ? " (level-" + level + " entry at physical 0x" : " (physical 0x")
                .append(Long.toHexString(pa)).append(')');
        return b.append(": ").append(detail).toString();
    }

    public Kind kind() { return kind; }

    /** The linear address asked for, or -1 when the access was physical. */
    public long linearAddress() { return linearAddress; }

    /** The physical address involved (entry or data), or -1 when none was reached. */
    public long physicalAddress() { return physicalAddress; }

    /** The paging level where the walk stopped (5..1), or 0 when no walk was involved. */
    public int level() { return level; }

    /** The reason in words (entry value, memory-map ranges, ...). */
    public String detail() { return detail; }
}
