package dev.vmsight.slicer;

import dev.vmsight.ir.uop.Loc;
import dev.vmsight.ir.uop.UopKind;
import dev.vmsight.tracer.trace.DeliveryEvent;
import dev.vmsight.tracer.trace.InstructionEvent;
import dev.vmsight.tracer.trace.UopExecution;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The forward half of {@link CallStructure} for one trace: follows the general registers from
 * the START state through every µop output, keeps a stack of open calls, and checks each return
 * against the innermost one (does it go to the call's next instruction, with which callee-saved
 * registers as they were). Instructions of dropped interrupt handlers and of summaries are not
 * tracked (the program never runs them).
 */
final class FrameTracker {
    /** An open call: its event ordinal, site, return address, registers before it, and index among the instructions tracked. */
    private record Frame(int ordinal, int site, long returnAddress, long[] saved, int instruction) { }

    private static final int RSP = 4;

    private final Sites table;
    private final CallStructure structure;
    private final long[] gpr = new long[16];
    private final List<Frame> open = new ArrayList<>();
    private int pendingReturnSite = -1;
    private int pendingReturnOrdinal;
    private int instructions;
    /**
     * Retpoline thunks entered straight from a call: first event ordinal of the thunk → {last
     * event ordinal (its return), ordinal of the call that entered it}. See {@link BackwardPass}.
     */
    final java.util.TreeMap<Integer, int[]> thunks = new java.util.TreeMap<>();
    /** The event ordinals inside those thunks (a cheap first test on the backward pass's hot path). */
    final java.util.BitSet inThunks = new java.util.BitSet();

    FrameTracker(Sites table, CallStructure structure, long[] startArchitectural) {
        this.table = table;
        this.structure = structure;
        System.arraycopy(startArchitectural, Loc.GPR0, gpr, 0, 16);
    }

    void instruction(InstructionEvent ins, int site, int ordinal, boolean tracked, Map<Integer, Long> returnOfCall) {
        if (tracked && pendingReturnSite >= 0) {
            checkReturn(ins.rip(), returnOfCall);
        }
        long[] before = null;
        boolean call = false, ret = false;
        if (tracked) {
            for (UopExecution x : ins.uops()) {
                UopKind k = table.uop(site, x.index()).kind();
                if (x.faulted()) {
                    continue;
                }
                call |= k == UopKind.CALL || k == UopKind.CALL_IND || k == UopKind.SYSCALL;
                ret |= k == UopKind.RET || k == UopKind.SYSRET;
            }
            if (call) {
                before = gpr.clone();
            }
        }
        for (UopExecution x : ins.uops()) {
            if (site >= 0 && !x.faulted()) {
                int[] out = table.uop(site, x.index()).out();
                for (int j = 0; j < out.length && j < x.outputs().length; j++) {
                    set(out[j], x.outputs()[j]);
                }
            }
            for (int j = 0; j < x.sideLocs().length; j++) {
                set(x.sideLocs()[j], x.sideValues()[j]);
            }
        }
        if (tracked) {
            instructions++;
        }
        if (call) {
            structure.call(site, ins.rip() + ins.bytes().length);
            open.add(new Frame(ordinal, site, ins.rip() + ins.bytes().length, before, instructions));
        } else if (ret) {
            structure.ret(site);
            pendingReturnSite = site;
            pendingReturnOrdinal = ordinal;
        }
    }

    /** A general register's value now (0 rax ... 15 r15). */
    long register(int n) { return gpr[n]; }

    /** The return address of the innermost open call, or 0 when none is open. */
    long innermostReturnAddress() { return open.isEmpty() ? 0 : open.get(open.size() - 1).returnAddress(); }

    /** The instruction just entered is a summarised allocator: its call is not a frame the program keeps. */
    void allocatorEntered() {
        if (!open.isEmpty()) {
            structure.brokenCall(open.remove(open.size() - 1).site);
        }
    }

    void delivery(DeliveryEvent d) {
        for (int i = 0; i < d.writtenLocs().length; i++) {
            set(d.writtenLocs()[i], d.writtenValues()[i]);
        }
    }

    /** END reached: a return still pending goes to END; calls still open never returned. */
    void end(long markOut, Map<Integer, Long> returnOfCall) {
        if (pendingReturnSite >= 0) {
            checkReturn(markOut, returnOfCall);
        }
        for (Frame f : open) {
            structure.brokenCall(f.site);
        }
        open.clear();
    }

    private void checkReturn(long target, Map<Integer, Long> returnOfCall) {
        int site = pendingReturnSite;
        pendingReturnSite = -1;
        int top = open.size() - 1;
        if (top >= 0 && open.get(top).returnAddress == target) {
            Frame f = open.remove(top);
            int mask = 0;
            for (int i = 0; i < CallStructure.CALLEE_SAVED.length; i++) {
                int r = CallStructure.CALLEE_SAVED[i] - Loc.GPR0;
                if (gpr[r] == f.saved[r]) {
                    mask |= 1 << i;
                }
            }
            structure.matched(f.site, site, mask);
            returnOfCall.put(pendingReturnOrdinal, ((long) f.ordinal << 32) | f.site);
            return;
        }
        structure.brokenReturn(site);
        if (top >= 0 && gpr[RSP] == open.get(top).saved[RSP]) {
            // A retpoline (call 1f; ...; 1: mov [rsp],reg; ret): the return popped exactly the slot
            // the innermost call pushed, overwritten with the branch target. That pair is an
            // indirect jump, sliced as one; the call around the thunk stays open, so the target
            // function's own return can still match it.
            Frame thunk = open.remove(top);
            structure.brokenCall(thunk.site);
            if (top > 0 && open.get(top - 1).instruction == thunk.instruction - 1) {
                thunks.put(thunk.ordinal, new int[]{pendingReturnOrdinal, open.get(top - 1).ordinal});
                inThunks.set(thunk.ordinal, pendingReturnOrdinal + 1);
            }
            return;
        }
        for (int d = top; d >= 0; d--) {     // unwound past some frames (longjmp-like): all of them are broken
            if (open.get(d).returnAddress == target) {
                while (open.size() > d) {
                    structure.brokenCall(open.remove(open.size() - 1).site);
                }
                return;
            }
        }
    }

    private void set(int loc, long value) {
        if (loc >= Loc.GPR0 && loc < Loc.GPR0 + 16) {
            gpr[loc - Loc.GPR0] = value;
        }
    }
}
