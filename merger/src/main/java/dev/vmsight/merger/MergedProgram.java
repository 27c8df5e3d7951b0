package dev.vmsight.merger;

import dev.vmsight.ir.sys.CpuFeatures;

import java.util.List;
import java.util.Map;

/**
 * A merged slice: what the JIT compiles and the reference executor runs. It is self-contained:
 * instruction bytes are embedded (their µops come from {@code SystemMachine.lift(bytes, address,
 * features)}, so µop index i here is site (address, bytes, i) of the traces), together with the
 * control roles, the live-ins, the input buffer, the user-half memory captured in training and the
 * output spec. It is keyed by the kernel build it was trained on ({@code kernelTextSha256}):
 * running it against another build is refused by its users, not guessed.
 *
 * @param formatVersion   {@link #FORMAT_VERSION} of the model (the file format has its own)
 * @param name            training program name (getpid, pslist...)
 * @param kernelTextSha256 SHA-256 of the kernel .text the traces ran on (TraceHeader.GuestIdentity)
 * @param kernelRelease   uname -r of that kernel, for people
 * @param features        CPU features that change decoding (the traces')
 * @param policy          the guard policy the slice was cut with (slicer GuardPolicy name, lower case)
 * @param entry           first instruction (the training program's code after the START mark)
 * @param end             the END mark's address: reaching it ends a run, the output is read there
 * @param instructions    every instruction with at least one kept µop or a control role, by address
 * @param controls        control sites: instructions whose successor is not simply the next one
 * @param liveIns         locations read before written: constants or from the VcpuState at run time
 * @param input           the program's input buffer (the {@code in} mark's), or none
 * @param userMemory      user-half bytes the slice reads, captured from the traces, by linear address
 * @param output          how to read and decode the answer at END
 * @param stats           counts for inspect and the reports
 * @param environment     values of the kept environment µops (rdtsc, cpuid, rdmsr of MSRs outside the
 *                        machine state, port input, rdrand) as training saw them: a monitor has no
 *                        guest TSC or devices, so a run replays these (see ReferenceExecutor)
 * @param frames          structured calls: a run keeps a frame stack (return address, restored
 *                        registers) instead of computing return addresses; see {@link CallFrame}
 * @param summaries       calls a run does not enter: the kernel's random-number and allocator
 *                        entry points, replaced by what they mean; see {@link CallSummary}
 * @param runContext      where a run finds the kernel's page tables, its CPU's per-CPU area and the
 *                        task it runs as, in guest memory (see {@link RunContext})
 */
public record MergedProgram(int formatVersion, String name, String kernelTextSha256, String kernelRelease,
                            CpuFeatures features, String policy, long entry, long end,
                            List<ProgramInstruction> instructions, List<ControlSite> controls, List<LiveIn> liveIns,
                            ProgramInput input, List<MemoryRange> userMemory, OutputSpec output, Statistics stats,
                            List<EnvValue> environment, List<CallFrame> frames, List<CallSummary> summaries,
                            RunContext runContext) {
    /**
     * Version of this model; bumped when a field's meaning changes (2: environment values; 3: frames,
     * SKIP and RETURN; 4: call summaries; 5: the run context; 6: the training boot's kernel layout).
     */
    public static final int FORMAT_VERSION = 6;
    /**
     * Where a run's {@code ALLOCATE} summaries hand out memory: a kernel-half range no x86-64
     * Linux layout maps (the first 1 TiB of the 8 TiB guard hole at 0xffff800000000000 of the
     * 4-level map, below where KASLR may put the direct map, vmalloc and vmemmap; the 1 TiB hole
     * at 0xffffe90000000000 used before is inside KASLR's range). The i-th
     * allocation of a run (from 0) is {@code ARENA_BASE + i * ARENA_SLOT}; its bytes exist only
     * once the run stores them (the copy-on-write overlay), reading one never stored is a
     * memory error of the run, not a zero.
     */
    public static final long ARENA_BASE = 0xffff800000000000L;
    public static final long ARENA_SLOT = 1L << 20;
    /** Linear addresses below this are the user half (captured in training), at and above it the kernel half. */
    public static final long USER_HALF_END = 0x0000_8000_0000_0000L;

    public MergedProgram {
        instructions = List.copyOf(instructions);
        controls = List.copyOf(controls);
        liveIns = List.copyOf(liveIns);
        userMemory = List.copyOf(userMemory);
        environment = List.copyOf(environment);
        frames = List.copyOf(frames);
        summaries = List.copyOf(summaries);
        java.util.Objects.requireNonNull(runContext, "runContext (RunContext.NONE for none)");
    }

    /** A program whose run context is not recorded: CR3 and the per-CPU base come from the vCPU. */
    public MergedProgram(int formatVersion, String name, String kernelTextSha256, String kernelRelease,
                         CpuFeatures features, String policy, long entry, long end,
                         List<ProgramInstruction> instructions, List<ControlSite> controls, List<LiveIn> liveIns,
                         ProgramInput input, List<MemoryRange> userMemory, OutputSpec output, Statistics stats,
                         List<EnvValue> environment, List<CallFrame> frames, List<CallSummary> summaries) {
        this(formatVersion, name, kernelTextSha256, kernelRelease, features, policy, entry, end, instructions, controls,
                liveIns, input, userMemory, output, stats, environment, frames, summaries, RunContext.NONE);
    }

    /** A program without call summaries. */
    public MergedProgram(int formatVersion, String name, String kernelTextSha256, String kernelRelease,
                         CpuFeatures features, String policy, long entry, long end,
                         List<ProgramInstruction> instructions, List<ControlSite> controls, List<LiveIn> liveIns,
                         ProgramInput input, List<MemoryRange> userMemory, OutputSpec output, Statistics stats,
                         List<EnvValue> environment, List<CallFrame> frames) {
        this(formatVersion, name, kernelTextSha256, kernelRelease, features, policy, entry, end, instructions, controls,
                liveIns, input, userMemory, output, stats, environment, frames, List.of());
    }

    /** A program without frames. */
    public MergedProgram(int formatVersion, String name, String kernelTextSha256, String kernelRelease,
                         CpuFeatures features, String policy, long entry, long end,
                         List<ProgramInstruction> instructions, List<ControlSite> controls, List<LiveIn> liveIns,
                         ProgramInput input, List<MemoryRange> userMemory, OutputSpec output, Statistics stats,
                         List<EnvValue> environment) {
        this(formatVersion, name, kernelTextSha256, kernelRelease, features, policy, entry, end, instructions, controls,
                liveIns, input, userMemory, output, stats, environment, List.of(), List.of());
    }

    /** A program without environment µops. */
    public MergedProgram(int formatVersion, String name, String kernelTextSha256, String kernelRelease,
                         CpuFeatures features, String policy, long entry, long end,
                         List<ProgramInstruction> instructions, List<ControlSite> controls, List<LiveIn> liveIns,
                         ProgramInput input, List<MemoryRange> userMemory, OutputSpec output, Statistics stats) {
        this(formatVersion, name, kernelTextSha256, kernelRelease, features, policy, entry, end, instructions, controls,
                liveIns, input, userMemory, output, stats, List.of());
    }

    /**
     * The outputs of the environment µop {@code uop} of the instruction at {@code address} in the
     * first trace that ran it (cpuid: eax, ebx, ecx, edx; the others one value). When that µop is a
     * LOAD, the load is replayed, not made: it read a summarised allocation's metadata or
     * constructor-initialised bytes through the object's address, the same value in every traced
     * instance, and a run's object (an arena address) has no such memory (see {@link #replayLoads}).
     */
    public record EnvValue(long address, int uop, long[] values) { }

    /**
     * {@code lifted} (the instruction at {@code value.address()}) with its LOAD µop {@code
     * value.uop()} replaced by a constant of the recorded value (zero-extended like the load), or
     * {@code lifted} itself when that µop is no load (an environment µop: its executor asks the
     * environment). Both executors run instructions through this.
     */
    public static dev.vmsight.ir.uop.LiftedInstruction replayLoads(dev.vmsight.ir.uop.LiftedInstruction lifted, EnvValue value) {
        if (value == null || value.uop() >= lifted.uops().size()) {
            return lifted;
        }
        dev.vmsight.ir.uop.Uop u = lifted.uops().get(value.uop());
        if (u.kind() != dev.vmsight.ir.uop.UopKind.LOAD) {
            return lifted;
        }
        long v = u.size() == 8 ? value.values()[0] : value.values()[0] & ((1L << (8 * u.size())) - 1);
        List<dev.vmsight.ir.uop.Uop> uops = new java.util.ArrayList<>(lifted.uops());
        uops.set(value.uop(), new dev.vmsight.ir.uop.Uop(dev.vmsight.ir.uop.UopKind.CONST, 8, null, u.out(), new int[0], new long[] {v}));
        return new dev.vmsight.ir.uop.LiftedInstruction(lifted.instruction(), uops);
    }

    /** Instructions by address (built on each call: callers keep the map). */
    public Map<Long, ProgramInstruction> instructionMap() {
        Map<Long, ProgramInstruction> m = new java.util.HashMap<>();
        for (ProgramInstruction i : instructions) {
            m.put(i.address(), i);
        }
        return m;
    }

    /**
     * A structured call (every traced instance returned to its next instruction, with rsp and the
     * callee-saved registers in {@code restoredLocs} as they were). Before running the call's µops
     * a run pushes a frame: {@code returnAddress} and the current values of {@code restoredLocs}
     * (ir {@code Loc} indices). A {@code RETURN} control site pops it, writes the values back and
     * continues at the return address. The depth of the frame stack is bounded (see the executors).
     */
    public record CallFrame(long callAddress, long returnAddress, int[] restoredLocs) {
        public CallFrame {
            restoredLocs = restoredLocs.clone();
        }

        @Override public int[] restoredLocs() { return restoredLocs.clone(); }
    }

    /**
     * A call a run does not enter. At {@code callAddress} (a call instruction; its µops are not
     * run) the run applies the summary and continues at {@code returnAddress}, no frame pushed:
     * <ul>
     *   <li>{@code RANDOM}: rax = {@code value}, what the kernel's random-number function returned
     *       there in training (a monitor has no guest entropy; callers map the value into their range);</li>
     *   <li>{@code ALLOCATE}: rax = the run's next arena address ({@link #ARENA_BASE}): fresh memory
     *       whose identity, not its guest address, is what the slice depends on; its first
     *       {@code value} bytes read as zero (the allocator zeroed them in every traced instance:
     *       kzalloc, __GFP_ZERO), those of its {@code image} as the image says, the others only
     *       once the run stores them;</li>
     *   <li>{@code RELEASE}: nothing (freeing an arena object).</li>
     * </ul>
     */
    public record CallSummary(long callAddress, long returnAddress, SummaryKind kind, long value, List<InitialValue> image) {
        public CallSummary {
            image = List.copyOf(image);
        }

        /** A summary without an initial image. */
        public CallSummary(long callAddress, long returnAddress, SummaryKind kind, long value) {
            this(callAddress, returnAddress, kind, value, List.of());
        }
    }

    /**
     * Part of a summarised allocation's initial image: {@code size} bytes at {@code offset} from
     * the object hold {@code value} when the run gets it (little-endian), or, when {@code relative},
     * the object's own address plus {@code value} (a list head pointing at itself). What the slab
     * constructor or the allocator left there in every traced instance, read before the window
     * stored it (an inode's i_readcount, set by inode_init_once when its slab was created).
     */
    public record InitialValue(int offset, int size, long value, boolean relative) {
        public InitialValue {
            if (size != 1 && size != 2 && size != 4 && size != 8 || offset < 0) {
                throw new IllegalArgumentException("initial value of " + size + " bytes at offset " + offset);
            }
        }
    }

    /** What a summarised call stands for. */
    public enum SummaryKind { RANDOM, ALLOCATE, RELEASE }

    /** Summaries by call address. */
    public Map<Long, CallSummary> summaryMap() {
        Map<Long, CallSummary> m = new java.util.HashMap<>();
        for (CallSummary c : summaries) {
            m.put(c.callAddress(), c);
        }
        return m;
    }

    /** Frames by call address. */
    public Map<Long, CallFrame> frameMap() {
        Map<Long, CallFrame> m = new java.util.HashMap<>();
        for (CallFrame f : frames) {
            m.put(f.callAddress(), f);
        }
        return m;
    }

    /** Control sites by address. */
    public Map<Long, ControlSite> controlMap() {
        Map<Long, ControlSite> m = new java.util.HashMap<>();
        for (ControlSite c : controls) {
            m.put(c.address(), c);
        }
        return m;
    }

    /**
     * One instruction of the program: its address, bytes, the privilege level it ran at (0 kernel,
     * 3 user) and the indices (ascending) of its µops that are in the slice.
     */
    public record ProgramInstruction(long address, byte[] bytes, int cpl, int[] keptUops) { }

    /** What kind of control transfer an instruction makes (from its µops). */
    public enum ControlKind {
        /** a BRANCH µop (jcc, loop...) */
        CONDITIONAL,
        /** an EXIT_IF µop: a rep string instruction repeating itself or leaving */
        REP_EXIT,
        /** JUMP_IND */
        INDIRECT_JUMP,
        /** CALL_IND */
        INDIRECT_CALL,
        /** RET */
        RETURN,
        /** a direct jump/call, or an instruction that changes RIP through a system µop (syscall, sysret, iret) */
        DIRECT
    }

    /** How a run treats a control site. */
    public enum ControlRole {
        /** seen with two or more successors: evaluated (its µops are in the slice) */
        BRANCH,
        /** seen with one successor: evaluated, and any other successor raises UnseenPath */
        GUARD,
        /** seen with one successor and not guarded by the policy: the trained successor is taken silently */
        FOLLOW,
        /**
         * not evaluated, nothing in the slice depends on its direction: after the instruction's kept
         * µops (usually none) the run continues at {@code successors[0]}, where all its ways meet
         * again (or, for a call whose callee keeps nothing, the return address)
         */
        SKIP,
        /**
         * a structured return, or a site from which every way leads to one with nothing kept on the
         * way: after the kept µops the run pops its innermost frame, restores its registers and
         * continues at its return address; with no frame open the run has reached END.
         * {@code successors} are the return addresses training saw (informational)
         */
        RETURN
    }

    /**
     * A control site: the instruction's address, kind, every successor observed in the traces
     * (ascending) and its role.
     */
    public record ControlSite(long address, ControlKind kind, long[] successors, ControlRole role) {
        public boolean expects(long successor) {
            return java.util.Arrays.binarySearch(successors, successor) >= 0;
        }
    }

    /** A location ({@code dev.vmsight.ir.uop.Loc} index) the program reads before writing it. */
    public sealed interface LiveIn permits LiveIn.Constant, LiveIn.FromVcpu {
        int loc();

        /** Equal in every trace: embedded. */
        record Constant(int loc, long value) implements LiveIn { }

        /** Differs between traces: read at run time from the VcpuState register {@code register}. */
        record FromVcpu(int loc, String register) implements LiveIn { }
    }

    /** The input buffer named by the {@code in} mark: linear address and length (0: the program takes no input). */
    public record ProgramInput(long va, int length) {
        public static final ProgramInput NONE = new ProgramInput(0, 0);
    }

    /** Bytes at a linear address range. */
    public record MemoryRange(long va, byte[] bytes) { }

    /** How the bytes of the output buffer decode into an answer. */
    public enum OutputKind {
        /** a list of little-endian int32 (pslist's PIDs) */
        INT32_LIST,
        /** one little-endian int64 (getpid, gettime: seconds since the epoch) */
        INT64,
        /** a list of little-endian uint64 (lsmod's module bases) */
        UINT64_LIST,
        /** a NUL-terminated string (getpsfile, getdrvfile) */
        STRING
    }

    /**
     * The output: at END the buffer is at rdi and its length in rsi (vmsight_mark_out(buf, len)),
     * decoded as {@code kind}.
     */
    public record OutputSpec(OutputKind kind) { }

    /**
     * Counts: traces merged, µop executions and the kept ones summed over the traces, distinct
     * µop sites and kept sites, instructions, basic blocks, control sites by role.
     */
    public record Statistics(int traces, long uopExecutions, long keptUopExecutions, long uopSites, long keptUopSites,
                             int instructions, int blocks, int branches, int guards, int follows) { }
}
