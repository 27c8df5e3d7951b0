package dev.vmsight.ir.verify.decoder;

/** The classes the oracle reports coverage for. */
public enum InstructionClass {
    GENERAL_PURPOSE("GP integer"), SYSTEM("system"), SSE_X87("SSE/x87"), OTHER("other");

    private final String label;

    InstructionClass(String label) { this.label = label; }

    public String label() { return label; }
}
