package dev.vmsight.jit.run;

import dev.vmsight.ir.decode.Mnemonic;
import dev.vmsight.ir.sys.SystemMachine;
import dev.vmsight.merger.MergedProgram;
import dev.vmsight.merger.MergedProgram.ControlKind;
import dev.vmsight.merger.MergedProgram.ControlRole;
import dev.vmsight.merger.MergedProgram.ControlSite;
import dev.vmsight.merger.ReferenceExecutor;
import dev.vmsight.merger.RunContext;
import dev.vmsight.merger.RunResult;
import dev.vmsight.vmi.Budget;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A hooked dispatch: an indirect call, jump or return on the trained path that went into module
 * code where training only ever went into the kernel image. That is what a rootkit's replaced
 * function pointer looks like (a file_operations copy, a system call table entry): the guest runs
 * the rootkit's function, whose answer is the lie. A monitor runs past it on the function the
 * unhooked kernel would have run: the trained successor whose function, in training, returned to
 * the same place the hooked call returns to (the innermost open call frame's return address, else
 * the 8 bytes at rsp). Exactly one such successor or none: a dispatch it cannot place stays an
 * unseen path.
 */
public final class HookedDispatch {

    /** x86-64 module space (MODULES_VADDR to MODULES_END), with or without KASLR: module code, never the kernel image. */
    public static final long MODULES_START = 0xffffffffc0000000L;
    public static final long MODULES_END = 0xffffffffff000000L;

    /** One hooked dispatch a run went past: where, the module address it went to, and the trained target used instead (-1: none found). */
    public record Hook(long site, long observed, long returnAddress, long trainedTarget) {
        public boolean resolved() { return trainedTarget != -1; }
    }

    /** A run past hooked dispatches: its outcome (an answer or the refusal that stopped it) and every hook it met, in order. */
    public record Bypassed(RunOutcome outcome, List<Hook> hooks) {
        public Bypassed {
            hooks = List.copyOf(hooks);
        }
    }

    private final MergedProgram program;
    private final Map<Long, MergedProgram.ProgramInstruction> instructions;
    private final Map<Long, ControlSite> controls;
    private final Map<Long, MergedProgram.CallFrame> frames;
    private final Map<Long, MergedProgram.CallSummary> summaries;
    /** (successor, return address) → whether the successor's function returns there in training. */
    private final Map<Long, Map<Long, Boolean>> returnsTo = new ConcurrentHashMap<>();

    public HookedDispatch(MergedProgram program) {
        this.program = program;
        this.instructions = program.instructionMap();
        this.controls = program.controlMap();
        this.frames = program.frameMap();
        this.summaries = program.summaryMap();
    }

    /**
     * True when {@code observed}, an unseen successor of {@code site}, is a hooked dispatch: the
     * site transfers indirectly (call, jump, return), every trained successor is in the kernel
     * image, and {@code observed} is in module space.
     */
    public boolean isHook(long site, long observed) {
        if (!isIndirect(site)) return false;
        ControlSite c = controls.get(site);
        if (!inModules(observed)) return false;
        for (long s : c.successors()) {
            if (inModules(s)) return false;
        }
        return c.successors().length > 0;
    }

    /** True when {@code site} is an indirect call, jump or return of the program: a dispatch through data. */
    public boolean isIndirect(long site) {
        ControlSite c = controls.get(site);
        return c != null && (c.kind() == ControlKind.INDIRECT_CALL || c.kind() == ControlKind.INDIRECT_JUMP
                || c.kind() == ControlKind.RETURN);
    }

    public static boolean inModules(long address) {
        return Long.compareUnsigned(address, MODULES_START) >= 0 && Long.compareUnsigned(address, MODULES_END) < 0;
    }

    /**
     * The trained successor of {@code site} whose function returned, in training, to {@code
     * returnAddress}; -1 when none or more than one does.
     */
    public long trainedTarget(ControlSite site, long returnAddress) {
        long found = -1;
        for (long s : site.successors()) {
            if (returnsTo(s, returnAddress)) {
                if (found != -1) return -1;
                found = s;
            }
        }
        return found;
    }

    /**
     * Whether the code reachable from {@code entry} in the program, stepping over calls (framed,
     * summarised, or any CALL instruction) and not following returns, reaches a return whose
     * trained successors hold {@code returnAddress}.
     */
    private boolean returnsTo(long entry, long returnAddress) {
        return returnsTo.computeIfAbsent(entry, k -> new ConcurrentHashMap<>())
                .computeIfAbsent(returnAddress, r -> walk(entry, r));
    }

    private boolean walk(long entry, long returnAddress) {
        Set<Long> seen = new HashSet<>();
        ArrayDeque<Long> todo = new ArrayDeque<>(List.of(entry));
        while (!todo.isEmpty()) {
            long a = todo.pop();
            if (!seen.add(a)) continue;
            MergedProgram.ProgramInstruction pi = instructions.get(a);
            if (pi == null) continue;
            long fallThrough = a + pi.bytes().length;
            MergedProgram.CallSummary summary = summaries.get(a);
            if (summary != null) {
                todo.push(summary.returnAddress());
                continue;
            }
            ControlSite c = controls.get(a);
            if (c != null && (c.kind() == ControlKind.RETURN || c.role() == ControlRole.RETURN)) {
                for (long s : c.successors()) {
                    if (s == returnAddress) return true;
                }
                continue;
            }
            MergedProgram.CallFrame frame = frames.get(a);
            if (frame != null || isCall(pi)) {
                todo.push(frame != null ? frame.returnAddress() : fallThrough);
                continue;
            }
            if (c != null) {
                for (long s : c.successors()) todo.push(s);
            } else {
                todo.push(fallThrough);
            }
        }
        return false;
    }

    private boolean isCall(MergedProgram.ProgramInstruction pi) {
        return SystemMachine.lift(pi.bytes(), pi.address(), program.features()).instruction().mnemonic() == Mnemonic.CALL;
    }

    /**
     * Runs {@code program} with the reference executor, going past every hooked dispatch on the
     * trained target {@link #trainedTarget} finds; any other unseen path ends the run as usual.
     */
    public Bypassed runPast(RunContext.Attached attached, byte[] input, Budget budget) {
        List<Hook> hooks = new ArrayList<>();
        ReferenceExecutor executor = new ReferenceExecutor(program).redirect((site, observed, frameReturn, stackTop) -> {
            if (!isHook(site.address(), observed)) return -1;
            long returnAddress = frameReturn;
            long target = frameReturn == -1 ? -1 : trainedTarget(site, frameReturn);
            if (target == -1 && stackTop != -1 && trainedTarget(site, stackTop) != -1) {
                returnAddress = stackTop;
                target = trainedTarget(site, stackTop);
            }
            if (hooks.size() < 64) hooks.add(new Hook(site.address(), observed, returnAddress, target));
            return target;
        });
        long t0 = System.nanoTime();
        RunResult r = executor.run(attached.memory(), attached.vcpu(), input == null ? new byte[0] : input, budget);
        long micros = (System.nanoTime() - t0) / 1000;
        return new Bypassed(ProgramRuns.outcomeOf(program, r, "reference (past hooked dispatches)", micros, budget), hooks);
    }
}
