package dev.vmsight.slicer;

import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.Map;

/**
 * An executable slice of a set of traces of one training program: per instruction site (rip,
 * bytes) the µop indices in the slice (the same in every instance and every trace: closure), the
 * control sites with their observed successors and what the policy made of them, the criterion,
 * statistics and the disagreements found. {@link #kept} and {@link #guarded} are what the merger
 * asks.
 */
public record SliceResult(GuardPolicy policy, Criterion criterion, Map<InstructionKey, SiteSlice> sites,
                          Map<Long, ControlSite> controlSites, Map<Long, CallFrame> frames,
                          Map<Long, SummarisedCall> summaries, Map<Long, String> summaryLeaks,
                          List<AllocatorCall> allocatorCalls, Statistics statistics, List<Disagreement> disagreements,
                          Map<Long, ReplayedLoad> replayedLoads) {
    public SliceResult {
        replayedLoads = Map.copyOf(replayedLoads);
        sites = Map.copyOf(sites);
        controlSites = Map.copyOf(controlSites);
        frames = Map.copyOf(frames);
        summaries = Map.copyOf(summaries);
        summaryLeaks = Map.copyOf(summaryLeaks);
        allocatorCalls = List.copyOf(allocatorCalls);
        disagreements = List.copyOf(disagreements);
    }

    /** An instruction site: its address and bytes as executed (compared by content). */
    public record InstructionKey(long address, byte[] bytes) {
        public InstructionKey {
            bytes = bytes.clone();
        }

        @Override public byte[] bytes() { return bytes.clone(); }

        @Override public boolean equals(Object o) {
            return o instanceof InstructionKey k && k.address == address && Arrays.equals(k.bytes, bytes);
        }

        @Override public int hashCode() { return Long.hashCode(address) * 31 + Arrays.hashCode(bytes); }

        @Override public String toString() { return "0x" + Long.toHexString(address) + "/" + bytes.length + "B"; }
    }

    /** One instruction (address, bytes as executed) and the indices of its µops in the slice. */
    public record SiteSlice(long address, byte[] bytes, BitSet keptUops, int uopCount, long instances) {
        public SiteSlice {
            bytes = bytes.clone();
            keptUops = (BitSet) keptUops.clone();
        }

        @Override public byte[] bytes() { return bytes.clone(); }

        @Override public BitSet keptUops() { return (BitSet) keptUops.clone(); }

        public boolean kept(int index) { return keptUops.get(index); }
    }

    /**
     * What decides the next instruction at a control site. {@code SYSTEM_TRANSFER} is syscall,
     * sysret or iret: the target comes from an MSR, RCX or the interrupt frame, through an opaque µop.
     */
    public enum ControlKind { CONDITIONAL, EXIT_IF, INDIRECT_JUMP, INDIRECT_CALL, RET, SYSTEM_TRANSFER,
        /** a direct call: a control site only when it is skipped */
        CALL }

    /** How the slice treats a control site. */
    public enum ControlRole {
        /** seen with two or more successors: sliced with its dependencies */
        BRANCH,
        /** one successor, guarded by the policy: sliced with its dependencies, the unseen way raises UnseenPath */
        GUARD,
        /** one successor, not guarded: the trained successor is followed silently */
        FOLLOWED,
        /**
         * not evaluated, and nothing in the slice depends on which way it goes: the program goes
         * straight to {@code skipTarget}, where every way from here meets again (the immediate
         * post-dominator; for a call whose callee keeps nothing, the return address)
         */
        SKIP,
        /**
         * a structured return ({@link #frames()}), or a site from which every way leads to one with
         * nothing sliced on the way: the program pops its innermost frame, restores the frame's
         * registers and continues at its return address (at END when no frame is open)
         */
        RETURN
    }

    /**
     * A call the program does not enter (a summarised function, {@link Slicer#KERNEL_SUMMARIES}
     * and the user allocators): the call instruction, its return address, the function, what it
     * stands for, what it returned the first time training saw this call (the value a
     * {@code RANDOM} summary replays), and for {@code ALLOCATE} how many bytes from the start of
     * the object the allocator left zero in every instance (kzalloc, __GFP_ZERO: the summary
     * zero-fills them).
     */
    public record SummarisedCall(long callAddress, long returnAddress, String function, Slicer.SummaryKind kind,
                                 long returned, long zeroed, List<InitialBytes> image) {
        public SummarisedCall {
            image = List.copyOf(image);
        }
    }

    /**
     * Bytes of an allocation a run reads before storing them, the same in every traced instance:
     * {@code size} bytes at {@code offset} from the object were {@code value}, or (when {@code
     * relative}) the object's address plus {@code value}. The summary's initial image.
     */
    public record InitialBytes(int offset, int size, long value, boolean relative) { }

    /**
     * This result with {@code summaryLeaks} set to the summaries dropped on the way (call
     * instruction address → function and why): after a redo the result has no leaks left, and these say what was given up.
     */
    public SliceResult withDroppedSummaries(Map<Long, String> dropped) {
        return new SliceResult(policy, criterion, sites, controlSites, frames, summaries, dropped, allocatorCalls,
                statistics, disagreements, replayedLoads);
    }

    /**
     * A load the program does not make: µop {@code uop} of the instruction at {@code address} reads
     * a summarised allocation's metadata or constructor-initialised bytes (through the object's
     * address, bytes the window never stored: its struct page, its slab, fields the slab's
     * constructor set before START) and got {@code value} in every traced instance. A monitor's
     * object is an arena address with no such memory, so the run uses the trained value.
     */
    public record ReplayedLoad(long address, int uop, long value) { }

    /**
     * A structured call the program keeps a frame for: at the call (before its µops) it pushes the
     * return address and the values of {@code restoredLocs} (ir {@code Loc} indices: rsp and the
     * callee-saved registers that every traced instance preserved), which a {@code RETURN} restores.
     */
    public record CallFrame(long callAddress, long returnAddress, int[] restoredLocs) {
        public CallFrame {
            restoredLocs = restoredLocs.clone();
        }

        @Override public int[] restoredLocs() { return restoredLocs.clone(); }
    }

    /**
     * A control site: its instruction address, kind, every successor observed (union over the
     * traces, ascending), its role, whether some sliced µop is control-dependent on it, and for
     * {@code SKIP} where the program goes instead (else 0).
     */
    public record ControlSite(long address, ControlKind kind, long[] successors, ControlRole role,
                              boolean controlsSlicedUop, long skipTarget) {
        public ControlSite {
            successors = successors.clone();
        }

        @Override public long[] successors() { return successors.clone(); }

        /** Sliced with its dependencies (a branch or a guard). */
        public boolean sliced() { return role == ControlRole.BRANCH || role == ControlRole.GUARD; }
    }

    /**
     * The slicing criterion: at END (before vmsight_mark_out executes) all bytes of rdi and rsi,
     * and the output buffer's physical bytes ({@code outputPhysicalBytes} of them at
     * {@code outputVa}).
     */
    public record Criterion(long endAddress, long outputVa, int outputLength, int outputPhysicalBytes) { }

    /** A user allocator function replaced by its summary: name, entry address, how many calls. */
    public record AllocatorCall(String function, long entry, long calls) { }

    /**
     * Totals over all traces: µop executions and how many are in the slice, instruction sites and
     * those with a kept µop, kept site µops, instruction instances, control sites by role,
     * asynchronous interrupt handlers dropped, input-buffer bytes read by kept loads, allocator calls
     * summarised, page faults on user-half addresses summarised, closure rounds, deliveries kept,
     * control sites skipped and returning, structured calls the program keeps a frame for.
     */
    public record Statistics(int traces, long uopExecutions, long keptUopExecutions, int sites, int keptSites,
                             long keptSiteUops, long instructionInstances, int branches, int guards, int followed,
                             long asyncHandlersDropped, long inputLoads, long allocatorCallsSummarised, long userPageFaultsSummarised,
                             int closureRounds, long deliveriesKept, double seconds, int skipped, int returns,
                             int frames) {
        public double keptFraction() { return uopExecutions == 0 ? 0 : (double) keptUopExecutions / uopExecutions; }
    }

    /**
     * Instances of one site µop that disagree: in {@code traceA} its input {@code location} came from
     * {@code producerA}, in {@code traceB} from {@code producerB} (a site "rip+µop", or "START"
     * when the value was live at START, i.e. produced outside the trace window).
     */
    public record Disagreement(long address, int uop, String location, int traceA, String producerA, int traceB,
                               String producerB) {
        @Override
        public String toString() {
            return "0x" + Long.toHexString(address) + " µop " + uop + " input " + location + ": trace " + traceA
                    + " from " + producerA + ", trace " + traceB + " from " + producerB;
        }
    }

    /** Whether µop {@code index} of the instruction (address, bytes) is in the slice. */
    public boolean kept(long address, byte[] bytes, int index) {
        SiteSlice s = sites.get(new InstructionKey(address, bytes));
        return s != null && s.keptUops.get(index);
    }

    /** Whether the control site at {@code address} is sliced (branch or guard), i.e. its condition is computed. */
    public boolean guarded(long address) {
        ControlSite c = controlSites.get(address);
        return c != null && c.sliced();
    }
}
