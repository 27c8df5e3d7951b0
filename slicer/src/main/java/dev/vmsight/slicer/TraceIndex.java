package dev.vmsight.slicer;

import dev.vmsight.ir.uop.Uop;
import dev.vmsight.ir.uop.UopKind;
import dev.vmsight.tracer.trace.DeliveryEvent;
import dev.vmsight.tracer.trace.InstructionEvent;
import dev.vmsight.tracer.trace.TraceEvent;
import dev.vmsight.tracer.trace.TraceReader;
import dev.vmsight.tracer.trace.UopExecution;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * What one forward pass learns about a trace before slicing it backward: the site of every
 * instruction event, which events belong to asynchronous interrupt handlers (dropped) or are
 * summarised (allocator calls; page faults on user-half addresses, from delivery to the matching
 * iretq: demand paging of the training process's memory, which the program embeds), and the control-flow edges and successors it adds to {@link Sites}.
 * Events are numbered by their ordinal in the trace.
 */
final class TraceIndex {
    int[] sites = new int[1024];
    int instructions;
    long events;
    long uops;
    final BitSet dropped = new BitSet();
    final BitSet summarised = new BitSet();
    /** summarised function's entry instruction (event ordinal) → function name */
    final java.util.TreeMap<Integer, String> summaryEntry = new java.util.TreeMap<>();
    /** events inside a call summary (entry through the callee's return), not page-fault summaries */
    final BitSet inCallSummary = new BitSet();
    /** one per summarised call: the call instruction, its return address, the function, rax at the return */
    final java.util.List<SummarisedCall> summarisedCalls = new java.util.ArrayList<>();

    /** {@code zeroed}: how many bytes from the returned address the callee left zero (it stored 0 there last). */
    record SummarisedCall(long callAddress, long returnAddress, String function, long returned, long zeroed) { }

    /** summarised function's entry instruction (event ordinal) → what it returned (rax) */
    final Map<Integer, Long> summaryReturned = new HashMap<>();
    /** stores inside the summary being indexed: linear address → last byte stored */
    private final Map<Long, Byte> summaryStores = new HashMap<>();

    /**
     * summarised call's entry instruction (event ordinal) → the physical bytes its callee stored to
     * but left as it found them (read before its first store, the last store writing that value
     * back: a preempt count or lock taken and released): no leak, and not a definition
     */
    final Map<Integer, java.util.Set<Long>> neutralStores = new HashMap<>();
    /** within the summary being indexed: physical byte → {value first read (-1: first stored), last value stored (-1: none)} */
    private final Map<Long, int[]> summaryBytes = new HashMap<>();

    /**
     * instructions inside a call to an allocator or random-number entry point (the callee's first
     * instruction through its return), whether the call is summarised or not (its summary leaked)
     */
    final BitSet inAllocator = new BitSet();
    private long allocatorReturn, allocatorRsp;

    /** summarised call's entry instruction (event ordinal) → bytes from the returned address it left zero */
    final Map<Integer, Long> summaryZeroed = new HashMap<>();

    /** summarised function's entry instruction (event ordinal) → the call instruction's address */
    final Map<Integer, Long> summaryCallAt = new HashMap<>();
    long asyncHandlers;
    long userPageFaults;
    private static final int SYNC = 0, ASYNC = 1, USER_FAULT = 2;
    long allocatorCalls;
    int lastSite = -1;
    /** matched return instance (event ordinal) → its call instance (event ordinal &lt;&lt; 32 | call site); see {@link CallStructure} */
    final Map<Integer, Long> returnOfCall = new HashMap<>();

    static TraceIndex build(TraceReader trace, Sites table, LiveBytes edges, Map<Long, String> allocators) {
        return build(trace, table, edges, allocators, new CallStructure());
    }

    static TraceIndex build(TraceReader trace, Sites table, LiveBytes edges, Map<Long, String> allocators,
                            CallStructure structure) {
        return build(trace, table, edges, allocators, structure, java.util.Set.of());
    }

    /** As above; calls at {@code unsummarised} (call instruction addresses) are not summarised (they leaked). */
    static TraceIndex build(TraceReader trace, Sites table, LiveBytes edges, Map<Long, String> allocators,
                            CallStructure structure, java.util.Set<Long> unsummarised) {
        TraceIndex ix = new TraceIndex();
        ix.unsummarised = unsummarised;
        ix.frames = new FrameTracker(table, structure, trace.header().start().architectural());
        ix.scan(trace, table, edges, allocators);
        ix.frames.end(trace.header().marks().markOut(), ix.returnOfCall);
        ix.thunks = ix.frames.thunks;
        ix.inThunks = ix.frames.inThunks;
        return ix;
    }

    private FrameTracker frames;
    /** Retpoline thunks entered straight from a call: see {@link FrameTracker#thunks}. */
    java.util.TreeMap<Integer, int[]> thunks;
    java.util.BitSet inThunks;
    private java.util.Set<Long> unsummarised = java.util.Set.of();

    private void scan(TraceReader trace, Sites table, LiveBytes edges, Map<Long, String> allocators) {
        Iterator<TraceEvent> it = trace.forward();
        int ordinal = -1;
        int prevSite = -1;           // previous kept-flow instruction (for edges and successors)
        InstructionEvent prev = null;
        boolean prevCall = false;
        long prevNext = 0;
        Deque<Integer> handlerStack = new ArrayDeque<>(); // per open delivery: SYNC, ASYNC or USER_FAULT
        int asyncDepth = 0;
        int userFaultDepth = 0;
        long summaryReturn = 0;
        boolean summarising = false;
        long summaryCall = 0;
        int summaryCallSite = -1;   // summaryReturn is a kernel-half (negative) address for kernel summaries
        while (it.hasNext()) {
            TraceEvent e = it.next();
            ordinal++;
            if (ordinal == Integer.MAX_VALUE) {
                throw new SliceException("trace of " + trace.header().program() + " has more than 2^31 events");
            }
            boolean wasInUserFault = userFaultDepth > 0;
            if (e instanceof InstructionEvent ins) {
                boolean inHandler = asyncDepth > 0;
                int site = ins.bytes() == null ? -1 : table.id(ins.rip(), ins.bytes());
                if (instructions == sites.length) {
                    sites = Arrays.copyOf(sites, sites.length * 2);
                }
                sites[instructions++] = site;
                uops += ins.uops().size();
                if (site >= 0) {
                    table.instances[site]++;
                }
                if (summarising && ins.rip() == summaryReturn) {
                    summarising = false;
                    long rax = frames.register(0);
                    long zeroed = 0;
                    while (zeroed < Slicer.MAX_ZEROED && Byte.valueOf((byte) 0).equals(summaryStores.get(rax + zeroed))) {
                        zeroed++;
                    }
                    summaryStores.clear();
                    summaryZeroed.put(summaryEntry.lastKey(), zeroed);
                    java.util.Set<Long> neutral = new java.util.HashSet<>();
                    summaryBytes.forEach((pa, v) -> {
                        if (v[0] >= 0 && v[1] == v[0]) {
                            neutral.add(pa);
                        }
                    });
                    summaryBytes.clear();
                    if (!neutral.isEmpty()) {
                        neutralStores.put(summaryEntry.lastKey(), neutral);
                    }
                    summaryReturned.put(summaryEntry.lastKey(), rax);
                    summarisedCalls.add(new SummarisedCall(summaryCall, summaryReturn, summaryEntry.lastEntry().getValue(),
                            rax, zeroed));
                    if (site >= 0) {
                        // the program goes from the call straight to its return address; the callee's
                        // own edges are not the program's (it never enters it)
                        edges.add(((long) summaryCallSite << 32) | site);
                        if (prevSite >= 0 && table.control.get(prevSite) != null && !prev.faulted()) {
                            table.successors.get(prevSite).add(ins.rip());   // the callee's return, as the merger sees it
                        }
                        prevSite = -1;
                    }
                }
                if (!summarising && !inHandler && prevCall && ins.rip() != prevNext
                        && allocators.containsKey(ins.rip()) && !unsummarised.contains(prev.rip())) {
                    summaryReturn = prevNext;
                    summaryCall = prev.rip();
                    summaryCallSite = prevSite;
                    summaryCallAt.put(ordinal, summaryCall);
                    summarising = true;
                    summaryEntry.put(ordinal, allocators.get(ins.rip()));
                    allocatorCalls++;
                }
                // the dynamic extent of every call into an allocator or random-number entry point, summarised or not
                if (allocatorReturn == 0 && !inHandler && prev != null && ins.rip() != prevNext && allocators.containsKey(ins.rip())) {
                    // entered by a call, or by a tail jump (kvmalloc_node's jmp to __kmalloc_node): it returns where the jumper's caller resumes
                    allocatorReturn = prevCall ? prevNext : frames.innermostReturnAddress();
                    allocatorRsp = frames.register(4);
                }
                if (allocatorReturn != 0) {
                    if (ins.rip() == allocatorReturn && frames.register(4) == allocatorRsp + 8) {
                        allocatorReturn = 0;
                    } else {
                        inAllocator.set(ordinal);
                    }
                }
                if (inHandler) {
                    dropped.set(ordinal);
                } else if (site >= 0) {
                    if (prevSite >= 0) {
                        if (!summarising) {
                            edges.add(((long) prevSite << 32) | site);
                        }
                        if (table.control.get(prevSite) != null && !prev.faulted()) {
                            table.successors.get(prevSite).add(ins.rip());
                        }
                    }
                    prevSite = site;
                    prev = ins;
                    lastSite = site;
                    prevCall = site >= 0 && calls(table, site, ins);
                    prevNext = ins.rip() + ins.bytes().length;
                }
                if (!handlerStack.isEmpty() && returnedFromHandler(table, site, ins)) {
                    int kind = handlerStack.pop();
                    if (kind == ASYNC) {
                        asyncDepth--;
                    } else if (kind == USER_FAULT) {
                        userFaultDepth--;
                    }
                }
            } else if (e instanceof DeliveryEvent d) {
                boolean async = d.vector() >= 32 && !raisedBy(table, d);
                if (asyncDepth > 0 || async) {
                    dropped.set(ordinal);
                }
                boolean userFault = !async && d.vector() == 14 && userHalf(faultAddress(d));
                if (async) {
                    asyncDepth++;
                    asyncHandlers++;
                } else if (userFault) {
                    userFaultDepth++;
                    userPageFaults++;
                }
                handlerStack.push(async ? ASYNC : userFault ? USER_FAULT : SYNC);
            } else if (asyncDepth > 0) {
                dropped.set(ordinal);   // translations stay usable; environment inputs of a handler go
            }
            if (summarising || wasInUserFault || userFaultDepth > 0) {
                summarised.set(ordinal);
            }
            if (summarising) {
                inCallSummary.set(ordinal);
                if (e instanceof InstructionEvent i) {
                    for (UopExecution x : i.uops()) {
                        for (var a : x.accesses()) {
                            for (int b = 0; b < a.size() && b < 8; b++) {
                                int value = (int) (a.value() >>> (8 * b)) & 0xFF;
                                int[] seen = summaryBytes.computeIfAbsent(a.byteAddress(b), k -> new int[] {-2, -1});
                                if (seen[0] == -2) {
                                    seen[0] = a.write() ? -1 : value;
                                }
                                if (a.write()) {
                                    seen[1] = value;
                                }
                            }
                        }
                    }
                }
                // only an allocation's stores can zero what it returns: the others are not looked at
                if (e instanceof InstructionEvent i
                        && Slicer.kindOf(summaryEntry.lastEntry().getValue()) == Slicer.SummaryKind.ALLOCATE) {
                    for (UopExecution x : i.uops()) {
                        for (var a : x.accesses()) {
                            for (int b = 0; a.write() && b < a.size(); b++) {
                                // a store wider than 8 bytes records only its low 8: take the rest as not zero
                                summaryStores.put(a.va() + b, b < 8 ? (byte) (a.value() >>> (8 * b)) : (byte) 1);
                            }
                        }
                    }
                }
            }
            if (e instanceof InstructionEvent i) {
                int site = sites[instructions - 1];
                boolean tracked = site >= 0 && !dropped.get(ordinal) && !summarised.get(ordinal);
                if (summaryEntry.containsKey(ordinal)) {
                    frames.allocatorEntered();
                }
                frames.instruction(i, site, ordinal, tracked, returnOfCall);
            } else if (e instanceof DeliveryEvent d) {
                frames.delivery(d);
            }
            lastInstructionSite = e instanceof InstructionEvent i && i.bytes() != null ? sites[instructions - 1]
                    : lastInstructionSite;
            lastInstruction = e instanceof InstructionEvent i ? i : lastInstruction;
        }
        events = ordinal + 1L;
    }

    private int lastInstructionSite = -1;
    private InstructionEvent lastInstruction;

    /** Whether the instruction's own FAULT µop (int n, int3...) raised this vector: then it is not asynchronous. */
    private boolean raisedBy(Sites table, DeliveryEvent d) {
        if (lastInstruction == null || lastInstruction.step() != d.step() || lastInstructionSite < 0) {
            return false;
        }
        for (UopExecution x : lastInstruction.uops()) {
            Uop u = table.uop(lastInstructionSite, x.index());
            if (u.kind() == UopKind.FAULT && u.imm()[0] == d.vector()) {
                return true;
            }
        }
        return false;
    }

    /** CR2 as the delivery wrote it, or -1. */
    private static long faultAddress(DeliveryEvent d) {
        for (int i = 0; i < d.writtenLocs().length; i++) {
            if (d.writtenLocs()[i] == dev.vmsight.ir.uop.Loc.CR2) {
                return d.writtenValues()[i];
            }
        }
        return -1;
    }

    /** The lower canonical half: the training process's own addresses. */
    static boolean userHalf(long va) { return va >= 0 && va < 0x0000_8000_0000_0000L; }

    /** A direct call (a summary replaces the call instruction, so its target must be fixed). */
    private static boolean calls(Sites table, int site, InstructionEvent ins) {
        for (UopExecution x : ins.uops()) {
            UopKind k = table.uop(site, x.index()).kind();
            if (k == UopKind.CALL) {
                return !x.faulted();
            }
        }
        return false;
    }

    private static boolean returnedFromHandler(Sites table, int site, InstructionEvent ins) {
        if (site < 0) {
            return false;
        }
        for (UopExecution x : ins.uops()) {
            if (table.uop(site, x.index()).kind() == UopKind.IRET && !x.faulted()) {
                return true;
            }
        }
        return false;
    }
}
