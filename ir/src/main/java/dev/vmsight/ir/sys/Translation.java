package dev.vmsight.ir.sys;

/**
 * One successful page walk: {@code serial} numbers the machine's walks from 0 (a TLB entry keeps
 * the translation it came from, so every access, hit or miss, can name it). The linear page at
 * {@code pageBase} of {@code pageSize} bytes maps to the physical page at {@code frame} (for a
 * large page, the frame of the large page's base) under {@code cr3}; {@code entryAddresses[k]} /
 * {@code entryValues[k]} are the paging entries read from the top level down to the leaf, values
 * as read (before this walk set their A/D bits).
 */
public record Translation(long serial, long cr3, long pageBase, long pageSize, long frame, long[] entryAddresses,
                          long[] entryValues) {
    /** The physical address of {@code va}, which must lie in this page. */
    public long physical(long va) { return frame + (va - pageBase); }
}
