package dev.vmsight.ir.interp;

/**
 * What the interpreter does when an instruction faults. The instruction's effects are
 * discarded up to the fault only in the sense that RIP still points at it; the default
 * rethrows. The system layer (dev.vmsight.ir.sys.SystemMachine) delivers the exception through the IDT instead.
 */
@FunctionalInterface
public interface FaultHandler {
    /** Called with RIP at the faulting instruction. Return normally to continue at the (possibly changed) RIP. */
    void onFault(CpuFault fault, MachineState state);

    FaultHandler RETHROW = (fault, state) -> { throw fault; };
}
