package dev.vmsight.merger;

import dev.vmsight.ir.interp.CpuFault;
import dev.vmsight.ir.interp.Environment;
import dev.vmsight.ir.interp.Interpreter;
import dev.vmsight.ir.interp.MachineState;
import dev.vmsight.ir.interp.Memory;
import dev.vmsight.ir.interp.SystemLayer;
import dev.vmsight.ir.sys.SystemMachine;
import dev.vmsight.ir.uop.LiftedInstruction;
import dev.vmsight.ir.uop.Loc;
import dev.vmsight.ir.uop.Uop;
import dev.vmsight.ir.uop.UopKind;
import dev.vmsight.merger.MergedProgram.ControlRole;
import dev.vmsight.merger.MergedProgram.ControlSite;
import dev.vmsight.merger.MergedProgram.LiveIn;
import dev.vmsight.merger.MergedProgram.MemoryRange;
import dev.vmsight.merger.MergedProgram.OutputKind;
import dev.vmsight.merger.MergedProgram.ProgramInstruction;
import dev.vmsight.merger.RunResult.FailureKind;
import dev.vmsight.vmi.Budget;
import dev.vmsight.vmi.BudgetExceededException;
import dev.vmsight.vmi.GuestMemoryException;
import dev.vmsight.vmi.paging.AddressSpace;
import dev.vmsight.vmi.paging.PagingMode;
import dev.vmsight.vmi.phys.PhysicalMemory;
import dev.vmsight.vmi.vcpu.VcpuState;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.TreeMap;

/**
 * Runs a {@link MergedProgram} with the ir interpreter: only the kept µops of each instruction,
 * control per role (BRANCH and GUARD evaluated and checked against the trained successors, FOLLOW
 * taking the trained one), kernel-half loads through the guest's paging with the CR3 the program
 * holds at that moment, user-half loads from the bytes embedded at training (and the input), every
 * store into an overlay (the guest is never written), under a {@link Budget}. The oracle for the JIT
 * and the measure of a program's reliability (crossval). Not thread-safe; one run per instance.
 *
 * <p>System µops: syscall and sysret get their SDM effects on the registers (the successor is the
 * control site's), iret pops its frame, swapgs/privileged checks are ordinary µops. Environment
 * µops (rdtsc, cpuid, rdmsr of MSRs outside the state, port input, rdrand) get the value training
 * recorded at that instruction: a monitor has no guest TSC or devices (a known limit: a program
 * whose answer depends on the TSC would answer with training's). Exception delivery is not
 * modelled: a fault ends the run with {@link FailureKind#CPU_FAULT}.
 */
public final class ReferenceExecutor {
    /** The largest output buffer read at END. */
    public static final int MAX_OUTPUT = 1 << 20;

    private final MergedProgram program;
    private final Map<Long, ProgramInstruction> instructions;
    private final Map<Long, ControlSite> controls;
    private final Map<Long, MergedProgram.CallFrame> frames;
    private final Map<Long, MergedProgram.CallSummary> summaries;
    private final Map<Long, LiftedInstruction> sliced = new HashMap<>();
    private final TreeMap<Long, byte[]> embedded = new TreeMap<>();
    private final Map<Long, MergedProgram.EnvValue> environment = new HashMap<>();

    /** Told of every instruction a run executes, before it runs (diagnostics: where a run loops or goes astray). */
    @FunctionalInterface
    public interface StepObserver {
        void step(long rip, dev.vmsight.ir.interp.MachineState state);
    }

    private StepObserver observer = (a, s) -> { };

    /**
     * Where a run goes when a BRANCH or GUARD site takes a successor training never saw: one of
     * the site's trained successors, or -1 to end the run with {@link RunResult.UnseenPath} (what a
     * run without a redirect does). Used to run past a hooked dispatch (a function pointer a
     * rootkit replaced) on the trained target; see jit-backend's HookedDispatch.
     */
    @FunctionalInterface
    public interface Redirect {
        /**
         * @param frameReturn the return address of the innermost open call frame (where the call
         *                    that led here returns), or -1 when no frame is open
         * @param stackTop    the 8 bytes at rsp after the site's instruction ran, or -1 when they
         *                    cannot be read (only what the slice kept was written to the stack)
         */
        long target(ControlSite site, long observed, long frameReturn, long stackTop);
    }

    private Redirect redirect;

    /** Sends unseen successors where {@code redirect} says (a successor it names must be a trained one). */
    public ReferenceExecutor redirect(Redirect redirect) {
        this.redirect = java.util.Objects.requireNonNull(redirect);
        return this;
    }

    /** Calls {@code observer} with the address and state of every instruction before it runs. */
    public ReferenceExecutor observe(StepObserver observer) {
        this.observer = java.util.Objects.requireNonNull(observer);
        return this;
    }

    public ReferenceExecutor(MergedProgram program) {
        this.program = program;
        this.instructions = program.instructionMap();
        this.controls = program.controlMap();
        this.frames = program.frameMap();
        this.summaries = program.summaryMap();
        for (MemoryRange r : program.userMemory()) {
            embedded.put(r.va(), r.bytes());
        }
        for (MergedProgram.EnvValue e : program.environment()) {
            environment.put(e.address(), e);
        }
    }

    /**
     * Runs the program against {@code memory} with live-ins from {@code vcpu}; {@code input} is
     * written to the program's input buffer (empty when the program takes none).
     */
    public RunResult run(PhysicalMemory memory, VcpuState vcpu, byte[] input, Budget budget) {
        Run run = new Run(memory, budget);
        try {
            return run.go(vcpu, input);
        } catch (BudgetExceededException e) {
            return new RunResult.Failure(FailureKind.BUDGET, run.site, e.getMessage(), run.steps);
        } catch (GuestMemoryException e) {
            return new RunResult.Failure(FailureKind.BAD_ADDRESS, run.site, e.getMessage(), run.steps);
        } catch (Refused e) {
            return new RunResult.Failure(e.kind, run.site, e.getMessage(), run.steps);
        } catch (CpuFault e) {
            return new RunResult.Failure(FailureKind.CPU_FAULT, run.site, e.getMessage(), run.steps);
        } catch (UnsupportedOperationException | IllegalStateException e) {
            return new RunResult.Failure(FailureKind.UNSUPPORTED, run.site, String.valueOf(e.getMessage()), run.steps);
        } catch (RuntimeException e) {
            return new RunResult.Failure(FailureKind.INTERNAL, run.site, e.getClass().getSimpleName() + ": " + e.getMessage(),
                    run.steps);
        }
    }

    /** A run's failure that is not an exception of the layers below. */
    private static final class Refused extends RuntimeException {
        final FailureKind kind;

        Refused(FailureKind kind, String message) {
            super(message, null, false, false);
            this.kind = kind;
        }
    }

    /** Deepest frame stack a run may build (the kernel's own stack allows far less). */
    static final int MAX_FRAMES = 4096;

    private boolean keepsControl(ProgramInstruction pi) {
        for (Uop u : sliced(pi).uops()) {
            if (u.kind().has(UopKind.Flag.BLOCK_END) || u.kind().has(UopKind.Flag.COND_BRANCH)) {
                return true;
            }
        }
        return false;
    }

    private LiftedInstruction sliced(ProgramInstruction pi) {
        return sliced.computeIfAbsent(pi.address(), a -> {
            LiftedInstruction li = MergedProgram.replayLoads(SystemMachine.lift(pi.bytes(), pi.address(), program.features()),
                    environment.get(pi.address()));
            List<Uop> kept = new ArrayList<>(pi.keptUops().length);
            for (int k : pi.keptUops()) {
                kept.add(li.uops().get(k));
            }
            return new LiftedInstruction(li.instruction(), kept);
        });
    }

    private final class Run implements Memory, SystemLayer {
        final PhysicalMemory physical;
        final Budget budget;
        final MachineState state = new MachineState();
        /** linear page → overlay page (stores of this run); a byte is live if its bit in the mask page is set */
        final Map<Long, byte[]> overlay = new HashMap<>();
        final Map<Long, boolean[]> overlayMask = new HashMap<>();
        final Map<Long, AddressSpace> spaces = new HashMap<>();
        byte[] input = new byte[0];
        long site;
        long steps;
        CpuFault fault;

        Run(PhysicalMemory physical, Budget budget) {
            this.physical = physical;
            this.budget = budget;
        }

        RunResult go(VcpuState vcpu, byte[] in) {
            if (in.length > program.input().length()) {
                throw new Refused(FailureKind.BAD_INPUT, "input of " + in.length + " bytes, the program's buffer holds "
                        + program.input().length());
            }
            this.input = in;
            for (LiveIn l : program.liveIns()) {
                if (l instanceof LiveIn.Constant c) {
                    state.set(c.loc(), c.value());
                } else {
                    LiveIn.FromVcpu f = (LiveIn.FromVcpu) l;
                    OptionalLong v = vcpu.find(f.register());
                    if (v.isEmpty()) {
                        throw new Refused(FailureKind.MISSING_LIVE_IN, "the program needs register " + f.register()
                                + " (for " + Loc.name(f.loc()) + ") and " + vcpu.source() + " does not have it");
                    }
                    state.set(f.loc(), Registers.fromRegister(f.loc(), v.getAsLong()));
                }
            }
            Interpreter interpreter = new Interpreter(this, a -> {
                throw new Refused(FailureKind.OFF_PROGRAM, "no instruction of the program at 0x" + Long.toHexString(a));
            }, new Replayed(), this, (f, s) -> fault = f);
            budget.start();
            long rip = program.entry();
            state.setRip(rip);
            while (rip != program.end()) {
                site = rip;
                ProgramInstruction pi = instructions.get(rip);
                if (pi == null) {
                    throw new Refused(FailureKind.OFF_PROGRAM, "no instruction of the program at 0x" + Long.toHexString(rip));
                }
                budget.step();
                steps++;
                observer.step(rip, state);
                // CPL is the trained one: the executor does not model privilege transitions beyond it
                state.set(Loc.SEL0 + 1, (state.get(Loc.SEL0 + 1) & ~3L) | pi.cpl());
                ControlSite control = controls.get(rip);
                if (control != null && (control.role() == ControlRole.BRANCH || control.role() == ControlRole.GUARD)
                        && !keepsControl(pi)) {
                    throw new Refused(FailureKind.INCOMPLETE_SLICE, control.role() + " " + control.kind() + " site with "
                            + control.successors().length + " trained successors, but the slice kept none of its control µops");
                }
                MergedProgram.CallSummary summary = summaries.get(rip);
                if (summary != null) {
                    summarise(summary);
                    state.setRip(summary.returnAddress());
                    rip = summary.returnAddress();
                    continue;
                }
                MergedProgram.CallFrame frame = frames.get(rip);
                if (frame != null && (control == null || control.role() != ControlRole.SKIP)) {
                    pushFrame(frame);
                }
                interpreter.execute(sliced(pi), state);
                if (fault != null) {
                    throw fault;
                }
                long next = state.rip();
                ControlSite c = control;
                if (c != null) {
                    switch (c.role()) {
                        case FOLLOW -> next = c.successors().length == 1 ? c.successors()[0] : next;
                        case SKIP -> next = c.successors()[0];
                        case RETURN -> next = popFrame();
                        case BRANCH, GUARD -> {
                            if (!c.expects(next)) {
                                long to = redirect == null ? -1 : redirect.target(c, next,
                                        openFrames.isEmpty() ? -1 : openFrames.get(openFrames.size() - 1).call().returnAddress(), stackTop());
                                if (to == -1 || !c.expects(to)) {
                                    return new RunResult.UnseenPath(rip, next, c.successors().clone(), steps);
                                }
                                next = to;
                            }
                        }
                    }
                    state.setRip(next);
                }
                rip = next;
            }
            site = rip;
            return answer();
        }

        /** ALLOCATE summaries this run has applied. */
        long allocations;

        void summarise(MergedProgram.CallSummary c) {
            switch (c.kind()) {
                case RANDOM -> state.set(Loc.GPR0, c.value());
                case ALLOCATE -> {
                    long object = MergedProgram.ARENA_BASE + MergedProgram.ARENA_SLOT * allocations++;
                    for (long k = 0; k < Math.min(c.value(), MergedProgram.ARENA_SLOT); k++) {
                        write(object + k, 1, 0);    // what the allocator zeroed
                    }
                    for (MergedProgram.InitialValue v : c.image()) {   // what its constructor left there
                        write(object + v.offset(), v.size(), v.relative() ? object + v.value() : v.value());
                    }
                    state.set(Loc.GPR0, object);
                }
                case RELEASE -> { }
            }
        }

        /** An open frame: the call's frame spec and the values of its restored locations at the call. */
        private record OpenFrame(MergedProgram.CallFrame call, int[] locs, long[] values) { }

        /** Open frames, innermost last. */
        final java.util.ArrayList<OpenFrame> openFrames = new java.util.ArrayList<>();

        void pushFrame(MergedProgram.CallFrame f) {
            if (openFrames.size() >= MAX_FRAMES) {
                throw new Refused(FailureKind.FRAME_DEPTH, "more than " + MAX_FRAMES + " nested calls at 0x"
                        + Long.toHexString(f.callAddress()) + " (runaway recursion in the guest's data?)");
            }
            int[] locs = f.restoredLocs();
            long[] values = new long[locs.length];
            for (int i = 0; i < locs.length; i++) {
                values[i] = state.get(locs[i]);
            }
            openFrames.add(new OpenFrame(f, locs, values));
        }

        /** The innermost frame's return address, its registers restored; END when none is open. */
        long popFrame() {
            if (openFrames.isEmpty()) {
                return program.end();
            }
            OpenFrame top = openFrames.remove(openFrames.size() - 1);
            for (int i = 0; i < top.locs().length; i++) {
                state.set(top.locs()[i], top.values()[i]);
            }
            return top.call().returnAddress();
        }

        /** The 8 bytes at rsp, or -1 when the stack is unreadable. */
        long stackTop() {
            try {
                return read(state.gpr(4), 8);
            } catch (RuntimeException e) {
                return -1;
            }
        }

        RunResult answer() {
            long buf = state.gpr(7);
            long len = state.gpr(6);
            if (len < 0 || len > MAX_OUTPUT) {
                throw new Refused(FailureKind.BAD_OUTPUT, "output length (rsi) " + len + " at END");
            }
            byte[] out = new byte[(int) len];
            for (int i = 0; i < out.length; i++) {
                out[i] = (byte) read(buf + i, 1);
            }
            return new RunResult.Answer(program.output().kind(), out, decode(program.output().kind(), out), steps);
        }

        @Override
        public long read(long va, int size) {
            if (Long.compareUnsigned(va, MergedProgram.USER_HALF_END) >= 0 && (va & 0xFFF) + size <= 4096
                    && !overlayMask.containsKey(va >>> 12)) {
                return space().read(va, size);
            }
            long v = 0;
            for (int i = 0; i < size; i++) {
                v |= (readByte(va + i) & 0xFFL) << (8 * i);
            }
            return v;
        }

        private int readByte(long va) {
            boolean[] mask = overlayMask.get(va >>> 12);
            if (mask != null && mask[(int) (va & 0xFFF)]) {
                return overlay.get(va >>> 12)[(int) (va & 0xFFF)];
            }
            if (Long.compareUnsigned(va, MergedProgram.USER_HALF_END) < 0) {
                long off = va - program.input().va();
                if (off >= 0 && off < input.length) {
                    return input[(int) off];
                }
                Map.Entry<Long, byte[]> e = embedded.floorEntry(va);
                if (e != null && va - e.getKey() < e.getValue().length) {
                    return e.getValue()[(int) (va - e.getKey())];
                }
                // not the training process's: the monitored task's own, which the kernel reads through
                // a pointer of its own (rseq, robust futex lists...): through the guest's paging
                try {
                    return (int) space().read(va, 1);
                } catch (RuntimeException unmapped) {
                    throw new Refused(FailureKind.BAD_ADDRESS, "user-half byte at 0x" + Long.toHexString(va)
                            + " was not captured in training, is not the input, and the guest does not map it: "
                            + unmapped.getMessage());
                }
            }
            return (int) space().read(va, 1);
        }

        private AddressSpace space() {
            long cr3 = state.get(Loc.CR3);
            boolean la57 = (state.get(Loc.CR4) & (1L << 12)) != 0;
            return spaces.computeIfAbsent(cr3, c -> AddressSpace.of(physical, c,
                    la57 ? PagingMode.fiveLevel() : PagingMode.fourLevel()));
        }

        @Override
        public void write(long va, int size, long value) {
            for (int i = 0; i < size; i++) {
                long a = va + i;
                byte[] page = overlay.computeIfAbsent(a >>> 12, p -> new byte[4096]);
                overlayMask.computeIfAbsent(a >>> 12, p -> new boolean[4096])[(int) (a & 0xFFF)] = true;
                page[(int) (a & 0xFFF)] = (byte) (value >>> (8 * i));
            }
        }

        /** Environment µops get the values training saw at the same instruction (a monitor has no guest TSC or devices). */
        private final class Replayed implements Environment {
            private long[] values(String what) {
                MergedProgram.EnvValue e = environment.get(site);
                if (e == null) {
                    throw new Refused(FailureKind.UNSUPPORTED, what + " at 0x" + Long.toHexString(site)
                            + " has no value recorded in training");
                }
                return e.values();
            }

            @Override public long rdtsc() { return values("rdtsc")[0]; }

            @Override public long[] cpuid(long leaf, long subleaf) { return values("cpuid").clone(); }

            @Override public long rdmsr(long msr) { return values("rdmsr 0x" + Long.toHexString(msr))[0]; }

            @Override public long portIn(long port, int size) { return values("in from port 0x" + Long.toHexString(port))[0]; }

            @Override public long rdrand(int size) { return values("rdrand")[0]; }

            @Override public long rdpkru() { return values("rdpkru")[0]; }
        }

        @Override
        public void execute(Uop uop, long[] inputs, MachineState s, Memory memory) {
            // a refusal (UnsupportedOperationException) becomes FailureKind.UNSUPPORTED in run()
            MonitorSystemLayer.INSTANCE.execute(uop, inputs, s, this);
        }
    }

    /** The text of an output buffer: one value per line for lists, the string up to its NUL. */
    public static String decode(OutputKind kind, byte[] out) {
        ByteBuffer b = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
        StringBuilder s = new StringBuilder();
        switch (kind) {
            case INT32_LIST -> {
                while (b.remaining() >= 4) {
                    s.append(b.getInt()).append('\n');
                }
            }
            case INT64 -> {
                if (b.remaining() >= 8) {
                    s.append(b.getLong()).append('\n');
                }
            }
            case UINT64_LIST -> {
                while (b.remaining() >= 8) {
                    s.append("0x").append(Long.toHexString(b.getLong())).append('\n');
                }
            }
            case STRING -> {
                int n = 0;
                while (n < out.length && out[n] != 0) {
                    n++;
                }
                s.append(new String(out, 0, n, StandardCharsets.UTF_8)).append('\n');
            }
        }
        return s.toString();
    }

    static boolean isEnv(UopKind k) { return k.has(UopKind.Flag.ENV); }
}
