package dev.vmsight.jit;

import dev.vmsight.ir.uop.LiftedInstruction;
import dev.vmsight.ir.uop.Site;

import java.util.ArrayList;
import java.util.List;

/**
 * The constants a generated class refers to by index rather than embedding: per instruction its
 * site (for faults) and control (for unseen paths), and the µops delegated to the interpreter,
 * numbered in program order (instruction, then µop index) exactly as the generator numbers them,
 * so a cached class can be paired with a table rebuilt from its program.
 */
record ControlTable(Site[] sites, List<JitProgram.Control> controls, LiftedInstruction[] delegated) {

    static ControlTable of(JitProgram program) {
        List<JitProgram.Instruction> insns = program.instructions();
        Site[] sites = new Site[insns.size()];
        List<JitProgram.Control> controls = new ArrayList<>();
        List<LiftedInstruction> delegated = new ArrayList<>();
        for (int i = 0; i < insns.size(); i++) {
            JitProgram.Instruction in = insns.get(i);
            sites[i] = in.controlSite();
            controls.add(in.control());
            for (var e : in.keptUops()) {
                if (CodeGenerator.kindClass(e.getValue().kind()) == CodeGenerator.KindClass.DELEGATED) {
                    delegated.add(new LiftedInstruction(in.lifted().instruction(), List.of(e.getValue())));
                }
            }
        }
        return new ControlTable(sites, List.copyOf(controls), delegated.toArray(new LiftedInstruction[0]));
    }
}
