package dev.vmsight.ir.interp;

import dev.vmsight.ir.uop.Uop;

/**
 * Executes the system half: the µops whose effects involve privileged state beyond their
 * operands (syscall, sysret, iret, hlt, invlpg, control-register writes, wrmsr of unknown
 * MSRs, port output, opaque state ops such as fxsave). The paging/exception layer of
 * dev.vmsight.ir.sys implements it; {@link #USER_MODE} refuses each with a clear error.
 */
public interface SystemLayer {
    /** Executes {@code uop} (a kind with the SYSTEM flag not handled by the interpreter itself). */
    void execute(Uop uop, long[] inputs, MachineState state, Memory memory);

    SystemLayer USER_MODE = (uop, inputs, state, memory) -> {
        throw new UnsupportedOperationException("system µop '" + uop + "' at rip 0x" + Long.toHexString(state.rip())
                + " needs the system layer (not part of the user-mode interpreter)");
    };
}
