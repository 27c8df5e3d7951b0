package dev.vmsight.jit;

import dev.vmsight.ir.uop.LiftedInstruction;
import dev.vmsight.ir.uop.Site;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The constants a generated class refers to by index rather than embedding: per instruction its
 * site (for faults), control (for unseen paths) and frame push (null: none), the µops delegated
 * to the interpreter, numbered in program order (instruction, then µop index) exactly as the
 * generator numbers them, so a cached class can be paired with a table rebuilt from its program,
 * and the instruction addresses in ascending unsigned order with their numbers (for returns to an
 * address the generated code does not jump to directly).
 */
record ControlTable(Site[] sites, List<JitProgram.Control> controls, LiftedInstruction[] delegated,
                    JitProgram.FramePush[] pushes, int[][] pushLocs, long end, long[] sortedAddresses, int[] numberOfSorted,
                    JitProgram.Summary[] summaries) {

    static ControlTable of(JitProgram program) {
        List<JitProgram.Instruction> insns = program.instructions();
        Site[] sites = new Site[insns.size()];
        JitProgram.FramePush[] pushes = new JitProgram.FramePush[insns.size()];
        JitProgram.Summary[] summaries = new JitProgram.Summary[insns.size()];
        int[][] pushLocs = new int[insns.size()][];
        List<JitProgram.Control> controls = new ArrayList<>();
        List<LiftedInstruction> delegated = new ArrayList<>();
        for (int i = 0; i < insns.size(); i++) {
            JitProgram.Instruction in = insns.get(i);
            sites[i] = in.controlSite();
            pushes[i] = in.push();
            summaries[i] = in.summary();
            pushLocs[i] = in.push() == null ? null : in.push().restoredLocs();   // one copy, not one per call
            controls.add(in.control());
            for (var e : in.keptUops()) {
                if (CodeGenerator.kindClass(e.getValue().kind()) == CodeGenerator.KindClass.DELEGATED) {
                    delegated.add(new LiftedInstruction(in.lifted().instruction(), List.of(e.getValue())));
                }
            }
        }
        Integer[] order = new Integer[insns.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Long.compareUnsigned(insns.get(a).address(), insns.get(b).address()));
        long[] sorted = new long[order.length];
        int[] numbers = new int[order.length];
        for (int k = 0; k < order.length; k++) {
            sorted[k] = insns.get(order[k]).address();
            numbers[k] = order[k];
        }
        return new ControlTable(sites, List.copyOf(controls), delegated.toArray(new LiftedInstruction[0]), pushes,
                pushLocs, program.end(), sorted, numbers, summaries);
    }

    /** The number of the instruction at {@code address}, -1 for the program's end, -2 for any other address. */
    int numberOf(long address) {
        if (address == end) {
            return -1;
        }
        int lo = 0, hi = sortedAddresses.length - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            int c = Long.compareUnsigned(sortedAddresses[mid], address);
            if (c == 0) {
                return numberOfSorted[mid];
            }
            if (c < 0) {
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return -2;
    }
}
