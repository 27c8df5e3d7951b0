package dev.vmsight.ir.sys;

/**
 * Sees every data access a {@link SystemMachine} makes through paging, after it succeeded: the
 * interpreter's loads and stores and the implicit ones (IDT, GDT and TSS reads, the delivery
 * frame). Instruction fetches and page-table walks are not reported. For an access crossing a
 * page, {@code pa} is the physical address of its first byte.
 */
@FunctionalInterface
public interface AccessObserver {
    void onAccess(long va, long pa, int size, long value, boolean write);
}
