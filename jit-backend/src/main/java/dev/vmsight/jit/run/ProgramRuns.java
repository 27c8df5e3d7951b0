package dev.vmsight.jit.run;

import dev.vmsight.guests.GuestException;
import dev.vmsight.ir.interp.Environment;
import dev.vmsight.ir.sys.SystemMachine;
import dev.vmsight.ir.uop.Loc;
import dev.vmsight.jit.CompiledMonitor;
import dev.vmsight.jit.GuestPages;
import dev.vmsight.jit.JitProgram;
import dev.vmsight.jit.MonitorCompiler;
import dev.vmsight.jit.MonitorContext;
import dev.vmsight.jit.MonitorMemory;
import dev.vmsight.jit.MonitorResult;
import dev.vmsight.merger.MergedProgram;
import dev.vmsight.merger.MonitorSystemLayer;
import dev.vmsight.merger.ReferenceExecutor;
import dev.vmsight.merger.RunResult;
import dev.vmsight.merger.MergedProgram.ControlSite;
import dev.vmsight.merger.MergedProgram.LiveIn;
import dev.vmsight.merger.MergedProgram.MemoryRange;
import dev.vmsight.merger.MergedProgram.ProgramInstruction;
import dev.vmsight.vmi.Budget;
import dev.vmsight.vmi.BudgetExceededException;
import dev.vmsight.vmi.VmiException;
import dev.vmsight.vmi.paging.AddressSpace;
import dev.vmsight.vmi.vcpu.VcpuState;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.TreeMap;

/**
 * Runs a {@link MergedProgram} against a {@link GuestSource}: the adapter to the JIT's
 * {@link JitProgram} (instructions re-lifted from their bytes, roles BRANCH / GUARD evaluated and
 * throwing UnseenPath, FOLLOW and SKIP fixed to the trained successor, RETURN popping the frame a
 * call site's {@link MergedProgram.CallFrame} pushed, a {@link MergedProgram.CallSummary} replacing
 * its call), the initial state from the live-ins,
 * the embedded user half as pages, and the decoding of the answer at END. (The adapter belongs in
 * jit-backend once it grows one; it lives here until then.)
 */
public final class ProgramRuns {

    /** An output buffer larger than this is a corrupted rsi, not an answer. */
    static final int MAX_OUTPUT = 1 << 20;

    private ProgramRuns() {}

    /** The JIT's view of {@code program}: an unseen path at a branch or guard ends the run. */
    public static JitProgram toJit(MergedProgram program) {
        return toJit(program, JitProgram.OnUnseen.THROW);
    }

    /**
     * The JIT's view of {@code program}; {@code onUnseen} says what an unseen path at a branch or
     * guard does ({@code REPORT_AND_FOLLOW}: recorded in the result, the trained way followed).
     */
    public static JitProgram toJit(MergedProgram program, JitProgram.OnUnseen onUnseen) {
        Map<Long, ControlSite> controls = program.controlMap();
        Map<Long, MergedProgram.CallFrame> frames = program.frameMap();
        Map<Long, MergedProgram.CallSummary> summaries = program.summaryMap();
        List<JitProgram.Instruction> out = new ArrayList<>();
        Map<Long, MergedProgram.EnvValue> environment = new HashMap<>();
        for (MergedProgram.EnvValue e : program.environment()) {
            environment.put(e.address(), e);
        }
        for (ProgramInstruction pi : program.instructions()) {
            var lifted = MergedProgram.replayLoads(SystemMachine.lift(pi.bytes(), pi.address(), program.features()),
                    environment.get(pi.address()));
            // a summarised call: no µops, no frame (even where the program lists one), on at the return address
            MergedProgram.CallSummary summary = summaries.remove(pi.address());
            if (summary != null) {
                out.add(JitProgram.Instruction.summarised(lifted, new JitProgram.Summary(summary.kind(), summary.value(),
                        summary.image().stream().map(v -> new JitProgram.InitialValue(v.offset(), v.size(), v.value(), v.relative())).toList()),
                        summary.returnAddress()));
                continue;
            }
            BitSet kept = new BitSet();
            for (int k : pi.keptUops()) kept.set(k);
            ControlSite c = controls.get(pi.address());
            JitProgram.Control control;
            if (c == null) {
                control = new JitProgram.Control.Fixed(lifted.instruction().nextAddress());
            } else {
                List<Long> successors = java.util.Arrays.stream(c.successors()).boxed().toList();
                if (successors.isEmpty()) {
                    // a trace stops when control reaches END: the instruction that got there (the call
                    // to vmsight_mark_out) has no recorded successor, and END is the only one it can have
                    successors = List.of(program.end());
                }
                control = switch (c.role()) {
                    case BRANCH, GUARD -> new JitProgram.Control.Evaluated(successors, onUnseen);
                    case FOLLOW, SKIP -> new JitProgram.Control.Fixed(successors.get(0));
                    // the trained return addresses (none: END) are only where the JIT jumps directly
                    case RETURN -> new JitProgram.Control.Return(
                            java.util.Arrays.stream(c.successors()).boxed().toList());
                };
            }
            // a skipped call (its callee keeps nothing) opens no frame, as in the reference executor
            MergedProgram.CallFrame frame = frames.get(pi.address());
            JitProgram.FramePush push = frame == null || (c != null && c.role() == MergedProgram.ControlRole.SKIP) ? null
                    : new JitProgram.FramePush(frame.returnAddress(), frame.restoredLocs());
            out.add(new JitProgram.Instruction(lifted, kept, control, push));
        }
        if (!summaries.isEmpty()) {
            long at = summaries.keySet().iterator().next();
            throw new IllegalArgumentException("program " + program.name() + " summarises the call at 0x" + Long.toHexString(at)
                    + ", which is no instruction of the program");
        }
        return new JitProgram(program.entry(), program.end(), out);
    }

    /** One value per ir Loc: constants as trained, the others from {@code vcpu} (see {@link #userEntryView}). */
    public static long[] initialState(MergedProgram program, VcpuState vcpu) {
        long[] s = new long[Loc.COUNT];
        for (LiveIn in : program.liveIns()) {
            if (in instanceof LiveIn.Constant c) {
                s[c.loc()] = c.value();
            } else if (in instanceof LiveIn.FromVcpu v) {
                s[v.loc()] = vcpu.find(v.register()).orElseThrow(() -> new GuestException(
                        "the program needs register " + v.register() + ", which " + vcpu.source() + " does not give"
                                + (v.register().equals("kernel_gs_base")
                                ? " (HMP has no KernelGSbase and the vCPU is not in the kernel; use --dump)" : "")));
            }
        }
        return s;
    }

    /**
     * The vCPU as a program trained from a user-mode START expects it. In user mode the per-CPU
     * base is in kernel_gs_base and gs_base is the process's; a vCPU paused in the kernel (the
     * usual case: the idle loop) has them swapped (swapgs). So at CPL 0 with a kernel-half gs_base
     * the two are swapped back; HMP gives no kernel_gs_base, then the user gs_base is taken as 0.
     */
    public static VcpuState userEntryView(VcpuState vcpu) {
        OptionalLong cs = vcpu.find("cs");
        OptionalLong gs = vcpu.find("gs_base");
        if (cs.isEmpty() || (cs.getAsLong() & 3) != 0 || gs.isEmpty() || gs.getAsLong() >= 0) return vcpu;
        Map<String, Long> regs = new java.util.LinkedHashMap<>(vcpu.registers());
        regs.put("kernel_gs_base", gs.getAsLong());
        regs.put("gs_base", vcpu.find("kernel_gs_base").orElse(0));
        return new VcpuState(vcpu.source() + " (GS bases as in user mode: swapped at CPL 0)", regs);
    }

    /** Registers of the machine, not of a process: these come from the live vCPU. */
    static final java.util.Set<String> MACHINE_REGISTERS = java.util.Set.of("cr0", "cr2", "cr3", "cr4", "cr8", "efer",
            "kernel_gs_base", "gdt_base", "gdt_limit", "idt_base", "idt_limit", "tr_base", "tr_limit");

    /**
     * {@code source} with the process registers of a training START ({@code trainedStart}: rsp,
     * rip, the GPRs, rflags, fs/gs bases, selectors) and the machine registers of the live vCPU
     * (CR3 for the kernel half, the per-CPU base, CR0/CR4/EFER, descriptor tables). A program
     * starts in the training process, whose stack and data it carries embedded at that process's
     * addresses; the live vCPU is wherever the guest was paused (usually the idle loop), so its
     * rsp or rip mean nothing to the program. The merger classifies such registers "from the
     * VcpuState" when they differ between runs; until it records one run's values, they come from
     * a training snapshot here.
     */
    public static GuestSource withTrainingProcess(GuestSource source, VcpuState trainedStart) {
        VcpuState live = userEntryView(source.vcpu());
        java.util.Map<String, Long> regs = new java.util.LinkedHashMap<>(trainedStart.registers());
        for (String r : MACHINE_REGISTERS) {
            live.find(r).ifPresent(v -> regs.put(r, v));
        }
        return new GuestSource(source.describe() + " with the training process's registers", source.memory(),
                new VcpuState("machine registers of " + live.source() + ", process registers of " + trainedStart.source(), regs),
                source.cpu(), source.live(), () -> { });
    }

    /**
     * The bytes of an input given as text, in its natural form for the program's input buffer: an
     * integer (decimal, or hex with 0x; a 64-bit kernel address such as 0xffffffffc0234000 is an
     * unsigned 64-bit value) is written little-endian in the buffer's width (4 or 8 bytes); anything
     * else is a string. An integer that does not fit the buffer is refused with both sizes.
     */
    public static byte[] inputBytes(MergedProgram program, String text) {
        if (text == null) {
            return null;
        }
        int len = program.input().length();
        java.math.BigInteger v = integer(text.strip());
        if (v != null && (len == 4 || len == 8)) {
            int bits = 8 * len;
            if (v.bitLength() > bits || v.signum() < 0 && v.bitLength() >= bits) {
                throw new GuestException("input " + text + " does not fit the " + len + "-byte input buffer of " + program.name());
            }
            long value = v.longValue();
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(len).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            if (len == 4) b.putInt((int) value); else b.putLong(value);
            return b.array();
        }
        return text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    private static java.math.BigInteger integer(String s) {
        try {
            if (s.startsWith("0x") || s.startsWith("0X")) return new java.math.BigInteger(s.substring(2), 16);
            if (s.startsWith("-0x") || s.startsWith("-0X")) return new java.math.BigInteger(s.substring(3), 16).negate();
            return new java.math.BigInteger(s);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** The embedded user half as 4 KiB pages, with {@code input} (if any) written at the program's input address. */
    public static Map<Long, byte[]> userPages(MergedProgram program, byte[] input) {
        Map<Long, byte[]> pages = new TreeMap<>(Long::compareUnsigned);
        for (MemoryRange r : program.userMemory()) put(pages, r.va(), r.bytes());
        if (input != null && input.length > 0) {
            if (program.input().length() == 0) {
                throw new GuestException("program " + program.name() + " takes no input, but --input was given");
            }
            if (input.length > program.input().length()) {
                throw new GuestException("input of " + input.length + " bytes does not fit the " + program.input().length()
                        + "-byte input buffer of " + program.name());
            }
            byte[] padded = java.util.Arrays.copyOf(input, program.input().length());
            put(pages, program.input().va(), padded);
        }
        return pages;
    }

    private static void put(Map<Long, byte[]> pages, long va, byte[] bytes) {
        for (int i = 0; i < bytes.length; i++) {
            long a = va + i;
            pages.computeIfAbsent(a & ~0xFFFL, k -> new byte[4096])[(int) (a & 0xFFF)] = bytes[i];
        }
    }

    /**
     * What every run of one program shares and never changes: its trained environment and its
     * embedded user pages (without input). Built once per program, not per run (it was ~40% of a
     * pslist run); the last program used is kept, by identity.
     */
    private record Prepared(MergedProgram program, TrainedEnvironment environment, Map<Long, byte[]> userPages) { }

    private static volatile Prepared prepared;

    private static Prepared prepared(MergedProgram program) {
        Prepared p = prepared;
        if (p == null || p.program() != program) {
            p = new Prepared(program, new TrainedEnvironment(program), Map.copyOf(userPages(program, null)));
            prepared = p;
        }
        return p;
    }

    /**
     * The program's view of {@code source}: its run context found in the guest's memory (kernel
     * page tables, the per-CPU base of the source's vCPU, the task it runs as; see {@link
     * dev.vmsight.merger.RunContext}), or the vCPU's registers for a program without one.
     */
    public static dev.vmsight.merger.RunContext.Attached attach(MergedProgram program, GuestSource source) {
        return program.runContext().attach(source.memory(), userEntryView(source.vcpu()), source.cpu());
    }

    /**
     * A program placed in one guest's boot: moved to the guest's kernel layout when KASLR put it
     * elsewhere than training ({@link dev.vmsight.merger.ProgramRelocation}; the program itself
     * when not), and attached there.
     *
     * @param program  what runs on this guest (compile this one, check this one's code)
     * @param attached the run context found in the guest
     * @param found    where the guest's kernel is
     */
    public record Placed(MergedProgram program, dev.vmsight.merger.RunContext.Attached attached,
                         dev.vmsight.merger.KernelPlacement.Found found) {
        /** Whether the program had to be moved (a compiled monitor of the trained program does not fit). */
        public boolean moved(MergedProgram trained) { return program != trained; }

        /** The same placement attached again at {@code source}'s present moment (after {@link GuestSource#resample}). */
        public Placed reattach(GuestSource source) {
            VcpuState vcpu = userEntryView(source.vcpu());
            var context = program.runContext();
            return new Placed(program, found == null ? context.attach(source.memory(), vcpu, source.cpu())
                    : context.attach(source.memory(), vcpu, source.cpu(), OptionalLong.of(found.physBase())), found);
        }
    }

    /** How long a guest runs between two pauses when a run met it mid-update ({@link #runSettled}). */
    public static final java.time.Duration SETTLE = java.time.Duration.ofMillis(20);

    /** How many more pauses such a run gets. */
    public static final int MORE_PAUSES = 2;

    /**
     * A run's outcome and the refusals that came before it on earlier pauses of the same guest.
     *
     * @param outcome what the last run gave
     * @param earlier unseen paths met on earlier pauses, oldest first (empty: the first pause answered or refused for good)
     */
    public record Settled(RunOutcome outcome, List<RunOutcome.UnseenPath> earlier) { }

    /**
     * Runs a placed program ({@link #place}) on {@code source}; {@code monitor} is compiled from
     * {@code placed.program()}, or null for the reference executor. A live guest is paused wherever
     * its vCPUs were: perhaps inside a critical section, holding a lock the program must take, or
     * halfway through linking a list. Such a run meets a path training never saw at that moment
     * only (a first, cold listing of a fresh guest is not that: it refuses on every pause, see
     * README "Cold lookups"). So when a run on a guest vmsight paused itself ends
     * in an unseen path, the guest runs for {@link #SETTLE} and is paused again, up to {@link
     * #MORE_PAUSES} times; the same site refusing the same way on two pauses in a row is outside
     * the training, and refused at once. Dumps and guests paused by someone else run once.
     */
    public static Settled runSettled(Placed placed, CompiledMonitor monitor, GuestSource source, byte[] input, Budget budget) {
        List<RunOutcome.UnseenPath> earlier = new ArrayList<>();
        Placed here = placed;
        while (true) {
            MergedProgram p = here.program();
            RunOutcome o = monitor == null ? runReference(p, here.attached(), input, budget) : runJit(p, monitor, here.attached(), input, budget);
            if (!(o instanceof RunOutcome.UnseenPath u) || earlier.size() >= MORE_PAUSES || repeats(earlier, u) || !source.resample(SETTLE)) {
                return new Settled(o, List.copyOf(earlier));
            }
            earlier.add(u);
            try {
                here = placed.reattach(source);
            } catch (dev.vmsight.merger.RunContext.ContextException e) {
                return new Settled(contextFailure(e), List.copyOf(earlier));
            }
        }
    }

    private static boolean repeats(List<RunOutcome.UnseenPath> earlier, RunOutcome.UnseenPath u) {
        if (earlier.isEmpty()) return false;
        RunOutcome.UnseenPath last = earlier.get(earlier.size() - 1);
        return last.site() == u.site() && last.observed() == u.observed();
    }

    /**
     * {@code program} placed in {@code source}'s boot: its kernel found ({@link
     * dev.vmsight.merger.KernelPlacement}), the program moved there, its run context attached.
     *
     * @throws dev.vmsight.merger.RunContext.ContextException when the kernel or the run context cannot be found
     * @throws IllegalArgumentException when an instruction of the program cannot be relocated
     */
    public static Placed place(MergedProgram program, GuestSource source) {
        VcpuState vcpu = userEntryView(source.vcpu());
        if (!program.runContext().known()) {
            return new Placed(program, program.runContext().attach(source.memory(), vcpu, source.cpu()), null);
        }
        var found = dev.vmsight.merger.KernelPlacement.find(source.memory(), vcpu, program.runContext());
        MergedProgram moved = dev.vmsight.merger.ProgramRelocation.relocate(program, found.layout(), found.kernel());
        return new Placed(moved, moved.runContext().attach(source.memory(), vcpu, source.cpu(), java.util.OptionalLong.of(found.physBase())), found);
    }

    /**
     * Runs {@code program} once over {@code source} as a user runs it: attached ({@link #attach}),
     * after checking that the guest runs the trained kernel code ({@link KernelCodeCheck}: a
     * mismatch is thrown, not run); {@code monitor} null runs the reference executor.
     */
    public static RunOutcome runChecked(MergedProgram program, CompiledMonitor monitor, GuestSource source, byte[] input, Budget budget) {
        Placed placed;
        try {
            placed = place(program, source);
        } catch (dev.vmsight.merger.RunContext.ContextException e) {
            return contextFailure(e);
        }
        MergedProgram p = placed.program();
        dev.vmsight.merger.RunContext.Attached attached = placed.attached();
        KernelCodeCheck.verify(kernelCode(p), AddressSpace.of(attached.memory(), attached.vcpu()), source.describe(),
                p.features());
        if (monitor != null && placed.moved(program)) {
            monitor = compile(p);    // the trained monitor holds the training boot's addresses
        }
        return runSettled(placed, monitor, source, input, budget).outcome();
    }

    /** Compiles (no cache) and runs {@code program} once over {@code source}. */
    public static RunOutcome runJit(MergedProgram program, CompiledMonitor monitor, GuestSource source, byte[] input, Budget budget) {
        try {
            return runJit(program, monitor, attach(program, source), input, budget);
        } catch (dev.vmsight.merger.RunContext.ContextException e) {
            return contextFailure(e);
        }
    }

    /** The guest's memory holds no usable run context (a damaged per-CPU table, a hostile guest): a structured failure. */
    private static RunOutcome contextFailure(dev.vmsight.merger.RunContext.ContextException e) {
        return new RunOutcome.Failed("CONTEXT", 0, e.getMessage());
    }

    /** Runs {@code program} once over a guest already attached ({@link #attach}: done once for many runs of a paused guest). */
    public static RunOutcome runJit(MergedProgram program, CompiledMonitor monitor, dev.vmsight.merger.RunContext.Attached source,
                                    byte[] input, Budget budget) {
        return runJitReporting(program, monitor, source, input, budget).outcome();
    }

    /**
     * A run and the unseen paths its monitor reported and followed (a monitor compiled from {@link
     * #toJit(MergedProgram, JitProgram.OnUnseen)} with {@code REPORT_AND_FOLLOW}: the sites, in order,
     * one per occurrence); empty for a monitor that ends a run at an unseen path.
     */
    public record Reported(RunOutcome outcome, List<Long> unseenSites) { }

    /** As {@link #runJit(MergedProgram, CompiledMonitor, dev.vmsight.merger.RunContext.Attached, byte[], Budget)}, with the reports. */
    public static Reported runJitReporting(MergedProgram program, CompiledMonitor monitor, dev.vmsight.merger.RunContext.Attached source,
                                           byte[] input, Budget budget) {
        long[] state = initialState(program, source.vcpu());
        AddressSpace space = AddressSpace.of(source.memory(), source.vcpu());
        Prepared shared = prepared(program);
        GuestPages pages = new GuestPages(space, input == null || input.length == 0 ? shared.userPages() : userPages(program, input));
        long t0 = System.nanoTime();
        MonitorResult r;
        try {
            r = monitor.run(new MonitorContext(state, pages, shared.environment(), MonitorSystemLayer.INSTANCE, budget));
        } catch (VmiException e) {
            return new Reported(outcomeOf(e), List.of());
        }
        long micros = (System.nanoTime() - t0) / 1000;
        if (r instanceof MonitorResult.Completed c) {
            List<Long> sites = c.reports().stream().map(u -> u.site().address()).toList();
            return new Reported(answer(program, c.state(), c.memory(), "jit", c.steps(), micros), sites);
        }
        if (r instanceof MonitorResult.Unseen u) {
            return new Reported(new RunOutcome.UnseenPath(u.path().site().address(), u.path().site().index(), u.path().observed(),
                    u.path().expected()), List.of());
        }
        if (r instanceof MonitorResult.OverBudget o) {
            return new Reported(outcomeOf(o.cause()), List.of());
        }
        MonitorResult.Failed f = (MonitorResult.Failed) r;  // the last of the sealed four
        return new Reported(new RunOutcome.Failed(f.fault().kind().name(), f.fault().site() == null ? 0 : f.fault().site().address(),
                f.fault().getMessage()), f.reports().stream().map(u -> u.site().address()).toList());
    }

    /** Runs {@code program} once over {@code source} with the merger's reference executor (the ir interpreter). */
    public static RunOutcome runReference(MergedProgram program, GuestSource source, byte[] input, Budget budget) {
        try {
            return runReference(program, attach(program, source), input, budget);
        } catch (dev.vmsight.merger.RunContext.ContextException e) {
            return contextFailure(e);
        }
    }

    /** As {@link #runReference(MergedProgram, GuestSource, byte[], Budget)} over a guest already attached. */
    public static RunOutcome runReference(MergedProgram program, dev.vmsight.merger.RunContext.Attached attached, byte[] input,
                                          Budget budget) {
        long t0 = System.nanoTime();
        RunResult r = new ReferenceExecutor(program).run(attached.memory(), attached.vcpu(),
                input == null ? new byte[0] : input, budget);
        return outcomeOf(program, r, "reference", (System.nanoTime() - t0) / 1000, budget);
    }

    /** A reference executor's result as a run outcome. */
    static RunOutcome outcomeOf(MergedProgram program, RunResult r, String backend, long micros, Budget budget) {
        if (r instanceof RunResult.Answer a) {
            try {
                return new RunOutcome.Answered(Answer.decode(program.name(), a.kind(), a.bytes()), backend, a.steps(), micros);
            } catch (IllegalArgumentException e) {
                return new RunOutcome.Failed("OUTPUT", program.end(), e.getMessage());
            }
        }
        if (r instanceof RunResult.UnseenPath u) {
            return new RunOutcome.UnseenPath(u.site(), -1, u.observed(), java.util.Arrays.stream(u.expected()).boxed().toList());
        }
        RunResult.Failure f = (RunResult.Failure) r;  // the last of the sealed three
        if (f.kind() == RunResult.FailureKind.BUDGET) {
            return new RunOutcome.OverBudget(f.message(), f.steps(), budget.elapsed().toMillis());
        }
        return new RunOutcome.Failed(f.kind().name(), f.site(), f.message());
    }

    /** Compiles {@code program} with the JIT. */
    public static CompiledMonitor compile(MergedProgram program) {
        return MonitorCompiler.compile(toJit(program));
    }

    private static RunOutcome outcomeOf(VmiException e) {
        if (e instanceof BudgetExceededException b) {
            return new RunOutcome.OverBudget(b.getMessage(), b.steps(), b.elapsed().toMillis());
        }
        return new RunOutcome.Failed("MEMORY", 0, e.getMessage());
    }

    private static RunOutcome answer(MergedProgram program, long[] state, MonitorMemory memory, String backend, long steps, long micros) {
        long va = state[Loc.GPR0 + 7];   // rdi at vmsight_mark_out(buf, len)
        long len = state[Loc.GPR0 + 6];  // rsi
        if (len < 0 || len > MAX_OUTPUT) {
            return new RunOutcome.Failed("OUTPUT", program.end(), "output length " + len + " (rsi at END) is not a plausible buffer size");
        }
        byte[] buf = new byte[(int) len];
        try {
            for (int i = 0; i < buf.length; i++) buf[i] = (byte) memory.read(va + i, 1);
        } catch (VmiException e) {
            return new RunOutcome.Failed("OUTPUT", program.end(), "output buffer at 0x" + Long.toHexString(va) + ": " + e.getMessage());
        }
        try {
            return new RunOutcome.Answered(Answer.decode(program.name(), program.output().kind(), buf), backend, steps, micros);
        } catch (IllegalArgumentException e) {
            return new RunOutcome.Failed("OUTPUT", program.end(), e.getMessage());
        }
    }

    /** Instruction address → bytes of the program's kernel-half code, for {@link KernelCodeCheck}. */
    public static Map<Long, byte[]> kernelCode(MergedProgram program) {
        Map<Long, byte[]> code = new HashMap<>();
        for (ProgramInstruction i : program.instructions()) {
            if (Long.compareUnsigned(i.address(), MergedProgram.USER_HALF_END) >= 0) code.put(i.address(), i.bytes());
        }
        return code;
    }
}
