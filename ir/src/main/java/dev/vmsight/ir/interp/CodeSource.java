package dev.vmsight.ir.interp;

import dev.vmsight.ir.uop.LiftedInstruction;

/** Where the interpreter gets lifted instructions: decode + lift at an address. */
@FunctionalInterface
public interface CodeSource {
    LiftedInstruction at(long address);
}
