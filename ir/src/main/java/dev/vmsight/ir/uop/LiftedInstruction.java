package dev.vmsight.ir.uop;

import dev.vmsight.ir.decode.Instruction;

import java.util.List;

/**
 * One instruction and its µops, in execution order. Unless a block-ending µop (or a taken
 * {@link UopKind#EXIT_IF}) sets RIP, execution continues at {@code instruction.nextAddress()}.
 */
public record LiftedInstruction(Instruction instruction, List<Uop> uops) {
    public LiftedInstruction {
        uops = List.copyOf(uops);
    }

    public Site site(int index) { return new Site(instruction.address(), instruction.bytes(), index); }

    /** True if the instruction ends a basic block (some µop may set RIP). */
    public boolean endsBlock() {
        for (Uop u : uops) {
            if (u.kind().has(UopKind.Flag.BLOCK_END) || u.kind().has(UopKind.Flag.COND_BRANCH)) {
                return true;
            }
        }
        return false;
    }
}
