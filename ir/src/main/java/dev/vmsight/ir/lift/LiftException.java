package dev.vmsight.ir.lift;

import dev.vmsight.ir.decode.Instruction;

import java.util.HexFormat;

/** An instruction the lifter does not (or cannot) translate; names its address, bytes and mnemonic. */
public final class LiftException extends RuntimeException {
    private final long address;

    public LiftException(Instruction insn, String why) {
        super("cannot lift " + insn.mnemonic().asm() + " at 0x" + Long.toHexString(insn.address())
                + " [" + HexFormat.of().formatHex(insn.bytes()) + "]: " + why);
        this.address = insn.address();
    }

    public long address() { return address; }
}
