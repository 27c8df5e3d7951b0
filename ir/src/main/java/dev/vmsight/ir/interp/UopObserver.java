package dev.vmsight.ir.interp;

import dev.vmsight.ir.uop.Uop;

/**
 * Watches the µops the {@link Interpreter} executes, one at a time: {@link #before} sees the
 * inputs (and the state as the µop finds it), {@link #after} its outputs (an output may overwrite
 * an input, so read inputs in before). A µop that raises an exception gets {@link #before} and
 * then {@link #faulted} instead of {@link #after}. {@code index} is the µop's position in its
 * instruction's lifting, i.e. the site's µop index.
 */
public interface UopObserver {
    void before(int index, Uop uop, MachineState state);

    void after(int index, Uop uop, MachineState state);

    /** {@code fault} is what the interpreter hands its {@link FaultHandler} next (a #DE for a division error). */
    void faulted(int index, Uop uop, CpuFault fault, MachineState state);
}
