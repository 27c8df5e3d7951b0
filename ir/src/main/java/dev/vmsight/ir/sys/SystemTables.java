package dev.vmsight.ir.sys;

/**
 * The descriptor-table registers the machine state does not hold: GDTR, IDTR and the task
 * register's TSS base (the hidden part of TR). Exception delivery reads the IDT, the GDT entry of
 * the handler's code segment and the 64-bit TSS (RSP0-2, IST1-7). QEMU's monitor shows them
 * ("info registers": GDT=, IDT=, TR=); lgdt/lidt change them.
 */
public record SystemTables(long gdtBase, int gdtLimit, long idtBase, int idtLimit, long tssBase) {
    /** No tables: any exception delivery fails with a clear error. */
    public static final SystemTables NONE = new SystemTables(0, -1, 0, -1, 0);

    public SystemTables withGdt(long base, int limit) { return new SystemTables(base, limit, idtBase, idtLimit, tssBase); }

    public SystemTables withIdt(long base, int limit) { return new SystemTables(gdtBase, gdtLimit, base, limit, tssBase); }
}
