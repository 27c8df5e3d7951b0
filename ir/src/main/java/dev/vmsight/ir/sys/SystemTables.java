package dev.vmsight.ir.sys;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The descriptor-table registers the machine state does not hold: GDTR, IDTR and the task
 * register's TSS base (the hidden part of TR). Exception delivery reads the IDT, the GDT entry of
 * the handler's code segment and the 64-bit TSS (RSP0-2, IST1-7). QEMU's monitor shows them
 * ("info registers": GDT=, IDT=, TR=); lgdt/lidt change them.
 */
public record SystemTables(long gdtBase, int gdtLimit, long idtBase, int idtLimit, long tssBase) {
    /** No tables: any exception delivery fails with a clear error. */
    public static final SystemTables NONE = new SystemTables(0, -1, 0, -1, 0);

    private static final Pattern GDT = Pattern.compile("GDT=\\s*([0-9a-fA-F]+)\\s+([0-9a-fA-F]+)");
    private static final Pattern IDT = Pattern.compile("IDT=\\s*([0-9a-fA-F]+)\\s+([0-9a-fA-F]+)");
    private static final Pattern TR = Pattern.compile("TR\\s*=\\s*[0-9a-fA-F]+\\s+([0-9a-fA-F]+)");

    /**
     * Parses the output of QEMU's HMP {@code info registers} (lines {@code GDT=     base limit},
     * {@code IDT=     base limit}, {@code TR =sel base limit flags}).
     *
     * @throws IllegalArgumentException naming the line that is missing
     */
    public static SystemTables fromInfoRegisters(String text) {
        Matcher gdt = find(GDT, text, "GDT=");
        Matcher idt = find(IDT, text, "IDT=");
        Matcher tr = find(TR, text, "TR =");
        return new SystemTables(Long.parseUnsignedLong(gdt.group(1), 16), Integer.parseInt(gdt.group(2), 16),
                Long.parseUnsignedLong(idt.group(1), 16), Integer.parseInt(idt.group(2), 16),
                Long.parseUnsignedLong(tr.group(1), 16));
    }

    private static Matcher find(Pattern p, String text, String what) {
        Matcher m = p.matcher(text);
        if (!m.find()) {
            throw new IllegalArgumentException("no '" + what + "' line in the 'info registers' output: "
                    + (text.length() > 200 ? text.substring(0, 200) + "..." : text));
        }
        return m;
    }

    public SystemTables withGdt(long base, int limit) { return new SystemTables(base, limit, idtBase, idtLimit, tssBase); }

    public SystemTables withIdt(long base, int limit) { return new SystemTables(gdtBase, gdtLimit, base, limit, tssBase); }
}
