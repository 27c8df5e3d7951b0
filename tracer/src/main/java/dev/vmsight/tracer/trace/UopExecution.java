package dev.vmsight.tracer.trace;

/**
 * One executed µop of an instruction: its index in the instruction's lifting (the site's index),
 * the values of its inputs and outputs in the order of {@code Uop.in()} / {@code Uop.out()}, the
 * memory accesses it made (a LOAD or STORE one; SYSTEM_OP/IRET/SYSCALL any number), and for µops
 * of the SYSTEM kinds the architectural locations ({@code dev.vmsight.ir.uop.Loc}) they changed
 * beyond their outputs, with the new values ({@code sideLocs[i]} got {@code sideValues[i]}).
 * A µop that raised an exception has {@code faulted} set and no outputs.
 */
public record UopExecution(int index, long[] inputs, long[] outputs, MemoryAccess[] accesses,
                           int[] sideLocs, long[] sideValues, boolean faulted) {
    public static final MemoryAccess[] NO_ACCESSES = {};
    public static final int[] NO_LOCS = {};
    public static final long[] NO_VALUES = {};

    public UopExecution {
        if (sideLocs.length != sideValues.length) {
            throw new IllegalArgumentException("µop " + index + ": " + sideLocs.length + " side locations but "
                    + sideValues.length + " values");
        }
    }
}
