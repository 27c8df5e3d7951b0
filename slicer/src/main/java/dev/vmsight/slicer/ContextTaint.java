package dev.vmsight.slicer;

import dev.vmsight.ir.uop.Loc;
import dev.vmsight.ir.uop.Uop;
import dev.vmsight.ir.uop.UopKind;
import dev.vmsight.tracer.capture.KernelSymbols;
import dev.vmsight.tracer.trace.DeliveryEvent;
import dev.vmsight.tracer.trace.InstructionEvent;
import dev.vmsight.tracer.trace.MemoryAccess;
import dev.vmsight.tracer.trace.TraceEvent;
import dev.vmsight.tracer.trace.TraceHeader;
import dev.vmsight.tracer.trace.TraceReader;
import dev.vmsight.tracer.trace.UopExecution;

import java.util.BitSet;
import java.util.Iterator;
import java.util.Map;

/**
 * Which control sites decide on the <em>run's context</em> rather than on the guest's data: a
 * forward taint pass over one trace. A monitor does not run as the training process on the
 * training CPU at the training moment; it runs as a chosen task (see merger's RunContext) on
 * whatever CPU state the guest was paused in, with fresh arena memory for summarised allocations,
 * replayed random numbers and replayed environment values. A branch whose condition comes from
 * those differs live for reasons that say nothing about whether the trained path still computes
 * the answer (the idle task's thread flags, PF_KTHREAD in fput, the preempt count, an arena
 * address failing virt_addr_valid or having no slab page), so the DATA guard policy follows it as
 * trained, while every other one-direction branch the answer depends on is guarded.
 *
 * <p>Two kinds of taint, each a bit per location and per physical byte:
 * <ul>
 *   <li>{@link #CONTEXT}, by value only: the memory of the context at START, by linear address (the
 *       trainer's task_struct, its address read from the per-CPU {@code current_task} slot and its
 *       size the guest's slab object size; its kernel stack, the 16 KiB below the per-CPU stack top;
 *       the CPU's static per-CPU area, from the per-CPU base to {@code __per_cpu_end}); outputs of
 *       environment µops (rdtsc, rdmsr, cpuid, in, rdrand); rax after a summarised random-number
 *       call. An address computed from a context value does not taint what is loaded through it:
 *       the /proc walk starts at current->fs and would be all context.</li>
 *   <li>{@link #ALLOCATION}: rax after a summarised allocation (the monitor's is an arena address),
 *       through arithmetic and, unlike context, through addresses: a byte loaded through such an
 *       address that the window did not store (an allocator's metadata: the struct page of the
 *       object, its slab) is what the monitor looks up at its arena address instead, so it is
 *       allocation-tainted too. The object's own fields, stored in the window, carry the taint of
 *       what was stored.</li>
 * </ul>
 * Stores inside a summarised call are not the monitor's (it does not enter the callee), except the
 * zero-fill of the returned object: they leave a byte's taint as it was. A byte stored in the
 * window takes the taint of the stored value. Registers, flags and temporaries: an output is
 * tainted with what any input is. A site is decided by context when any instance's control µop
 * reads a tainted value, by data when any reads an untainted one.
 *
 * <p>Inside an allocator or random-number entry point whose call is not summarised (its summary
 * leaked), every decision is the allocator's own (free lists, watermarks, per-CPU caches of the
 * live guest): context, followed as trained. What the monitor needs of such a call is an object.
 */
final class ContextTaint {
    /** x86-64 THREAD_SIZE without KASAN: the kernel stack below {@code cpu_current_top_of_stack}. */
    static final long KERNEL_STACK = 16 * 1024;
    static final byte CONTEXT = 1, ALLOCATION = 2;

    private final Sites table;
    private final TraceIndex index;
    private final byte[] reg = new byte[Loc.COUNT];
    /** physical bytes the window stored (outside summaries), and which of them hold tainted values */
    private final LiveBytes stored = new LiveBytes();
    private final LiveBytes storedContext = new LiveBytes();
    private final LiveBytes storedAllocation = new LiveBytes();
    private final long perCpu, perCpuSize, currentSlot, stackTopSlot, taskSize;
    private long task, stackTop;
    /** sites whose control µop read a tainted value in some instance */
    final BitSet decidedByContext = new BitSet();
    /** sites whose control µop read an untainted value in some instance */
    final BitSet decidedByData = new BitSet();
    /**
     * loads through an allocation's address of bytes the window did not store (its metadata, what
     * a slab constructor set before START), by {@code site << 8 | µop}: the value every instance
     * read, or {@link #NOT_REPLAYABLE} when instances differed or the value looks like a kernel
     * pointer (it would point at training's objects, not the monitor's)
     */
    final Map<Integer, Long> metadataLoads = new java.util.HashMap<>();
    static final Long NOT_REPLAYABLE = Long.MIN_VALUE;

    private ContextTaint(Sites table, TraceIndex index, TraceHeader header) {
        this.table = table;
        this.index = index;
        Map<String, String> c = header.context();
        long[] start = header.start().architectural();
        boolean user = (start[Loc.SEL0 + 1] & 3) == 3;
        perCpu = start[user ? Loc.KERNEL_GS_BASE : Loc.GS_BASE];
        perCpuSize = symbol(c, "__per_cpu_end");
        currentSlot = symbol(c, "current_task");
        stackTopSlot = symbol(c, "cpu_current_top_of_stack");
        String size = c.get(KernelSymbols.TASK_STRUCT_SIZE);
        taskSize = size == null ? 0 : Long.parseLong(size);
    }

    /** Whether the trace records what this pass needs (the per-CPU symbols and the task_struct size). */
    static boolean available(TraceHeader header) {
        Map<String, String> c = header.context();
        return symbol(c, "current_task") != 0 && symbol(c, "__per_cpu_end") != 0 && c.containsKey(KernelSymbols.TASK_STRUCT_SIZE);
    }

    /** One forward pass over {@code trace}, indexed by {@code index}; the result names sites in {@code table}. */
    static ContextTaint of(TraceReader trace, Sites table, TraceIndex index) {
        if (!available(trace.header())) {
            throw new SliceException("trace of " + trace.header().program() + " records no per-CPU symbols or task_struct size "
                    + "(traced before they were recorded): the DATA guard policy cannot tell context from data; trace it again");
        }
        ContextTaint t = new ContextTaint(table, index, trace.header());
        t.run(trace);
        return t;
    }

    private static long symbol(Map<String, String> context, String name) {
        String v = context.get(KernelSymbols.KEY + name);
        return v == null ? 0 : Long.parseUnsignedLong(v, 16);
    }

    /** The summarised call being walked: its kind, returned object and zero-filled length. */
    private Slicer.SummaryKind summaryKind;
    private long summaryObject, summaryZeroed, summaryCall;
    /** summarised allocations met so far: object address → the call's address */
    private final java.util.TreeMap<Long, Long> objects = new java.util.TreeMap<>(Long::compareUnsigned);
    /** per summarised call: (offset << 4 | size) → {value, relative} read before stored, or null when instances differed */
    private final Map<Long, Map<Long, long[]>> image = new java.util.HashMap<>();
    /** the most bytes from an object's address a read is taken to be of that object */
    static final long OBJECT_SPAN = 64 * 1024;
    private byte[] beforeCall;
    /** the instruction being walked runs inside an allocator whose call is not summarised (its summary leaked) */
    private boolean allocator;

    private void run(TraceReader trace) {
        Iterator<TraceEvent> it = trace.forward();
        int ordinal = -1;
        int instruction = 0;
        boolean inSummary = false;
        while (it.hasNext()) {
            TraceEvent e = it.next();
            ordinal++;
            if (e instanceof InstructionEvent ins) {
                int site = index.sites[instruction++];
                if (index.dropped.get(ordinal) || site < 0) {
                    continue;
                }
                String entered = index.summaryEntry.get(ordinal);
                if (entered != null) {
                    summaryKind = Slicer.kindOf(entered);
                    summaryCall = index.summaryCallAt.getOrDefault(ordinal, 0L);
                    Long object = index.summaryReturned.get(ordinal);
                    summaryObject = object == null ? 0 : object;
                    summaryZeroed = index.summaryZeroed.getOrDefault(ordinal, 0L);
                    beforeCall = reg.clone();
                    inSummary = true;
                }
                boolean summarised = index.summarised.get(ordinal);
                if (inSummary && !index.inCallSummary.get(ordinal)) {
                    // the monitor never entered the callee: registers as before the call, rax the summary's value
                    System.arraycopy(beforeCall, 0, reg, 0, reg.length);
                    if (summaryKind == Slicer.SummaryKind.ALLOCATE && summaryObject != 0) {
                        objects.put(summaryObject, summaryCall);
                    }
                    reg[Loc.GPR0] = switch (summaryKind) {
                        case ALLOCATE -> ALLOCATION;
                        case RANDOM -> CONTEXT;
                        case RELEASE -> beforeCall[Loc.GPR0];
                    };
                    inSummary = false;
                }
                allocator = index.inAllocator.get(ordinal);
                instruction(ins, site, summarised, inSummary);
            } else if (e instanceof DeliveryEvent d && !index.dropped.get(ordinal)) {
                for (int loc : d.writtenLocs()) {
                    reg[loc] = 0;
                }
                for (MemoryAccess a : d.accesses()) {
                    if (a.write()) {
                        store(a, (byte) 0);
                    }
                }
            }
        }
    }

    private void instruction(InstructionEvent ins, int site, boolean summarised, boolean inCall) {
        for (UopExecution x : ins.uops()) {
            if (x.faulted()) {
                continue;
            }
            Uop u = table.uop(site, x.index());
            byte in = 0;
            for (int loc : u.in()) {
                in |= reg[loc];
            }
            if (!summarised && isControl(u.kind())) {
                (in != 0 || allocator ? decidedByContext : decidedByData).set(site);
            }
            byte out;
            if (u.kind() == UopKind.LOAD) {
                out = 0;
                for (MemoryAccess a : x.accesses()) {
                    learnContext(a);
                    out |= loaded(a, (byte) (in & ALLOCATION));
                    if (!summarised) {
                        boolean viaAllocation = (in & ALLOCATION) != 0 && unstored(a);
                        boolean inObject = viaAllocation && initialBytes(a);
                        metadataLoad(site << 8 | x.index(), a, viaAllocation && !inObject);
                    }
                }
            } else {
                out = u.kind().has(UopKind.Flag.ENV) ? (byte) (in | CONTEXT) : in;
                for (MemoryAccess a : x.accesses()) {
                    if (!a.write()) {
                        out |= loaded(a, (byte) 0);
                    }
                }
            }
            for (MemoryAccess a : x.accesses()) {
                if (!a.write()) {
                    continue;
                }
                byte value = u.kind() == UopKind.STORE ? reg[u.in()[1]] : out;
                if (!inCall) {
                    store(a, summarised ? 0 : value);   // a user page-fault summary: the program embeds that memory (data)
                } else {
                    zeroFill(a);
                }
            }
            for (int loc : u.out()) {
                reg[loc] = out;
            }
            for (int loc : x.sideLocs()) {
                reg[loc] = out;
            }
        }
    }

    private static boolean isControl(UopKind k) {
        return k == UopKind.BRANCH || k == UopKind.EXIT_IF || k == UopKind.JUMP_IND || k == UopKind.CALL_IND
                || k == UopKind.RET;
    }

    /** The trainer's task and kernel stack, from the first loads of their per-CPU slots. */
    private void learnContext(MemoryAccess a) {
        if (a.size() != 8 || perCpu == 0) {
            return;
        }
        if (task == 0 && currentSlot != 0 && a.va() == perCpu + currentSlot) {
            task = a.value();
        } else if (stackTop == 0 && stackTopSlot != 0 && a.va() == perCpu + stackTopSlot) {
            stackTop = a.value();
        }
    }

    /** The taint of a load's bytes; {@code viaAllocation}: its address came from an allocation. */
    private byte loaded(MemoryAccess a, byte viaAllocation) {
        byte t = 0;
        for (int b = 0; b < a.size(); b++) {
            long pa = a.byteAddress(b);
            if (stored.contains(pa)) {
                t |= (byte) ((storedContext.contains(pa) ? CONTEXT : 0) | (storedAllocation.contains(pa) ? ALLOCATION : 0));
            } else {
                t |= (byte) ((context(a.va() + b) ? CONTEXT : 0) | viaAllocation);
            }
        }
        return t;
    }

    private boolean unstored(MemoryAccess a) {
        for (int b = 0; b < a.size(); b++) {
            if (stored.contains(a.byteAddress(b))) {
                return false;
            }
        }
        return true;
    }

    /**
     * Whether {@code a}, a load through an allocation's address of bytes the window never stored,
     * reads inside a summarised object (within {@link #OBJECT_SPAN} of its address); if so it is
     * recorded in that call's initial image (a kernel pointer into the object itself as relative).
     */
    private boolean initialBytes(MemoryAccess a) {
        var o = objects.floorEntry(a.va());
        if (o == null || Long.compareUnsigned(a.va() - o.getKey(), OBJECT_SPAN) >= 0) {
            return false;
        }
        long offset = a.va() - o.getKey();
        long value = a.value();
        boolean relative = a.size() == 8 && Long.compareUnsigned(value - o.getKey(), OBJECT_SPAN) < 0;
        long[] v = {relative ? value - o.getKey() : value, relative ? 1 : 0};
        Map<Long, long[]> m = image.computeIfAbsent(o.getValue(), k -> new java.util.HashMap<>());
        long key = offset << 4 | a.size();
        if (!m.containsKey(key)) {
            m.put(key, v);
        } else if (m.get(key) != null && !java.util.Arrays.equals(m.get(key), v)) {
            m.put(key, null);      // instances differ: not part of the image
        }
        return true;
    }

    /**
     * The initial images of summarised calls over {@code taints} (one per trace): the values every
     * instance in every trace agreed on, by call address.
     */
    static Map<Long, java.util.List<SliceResult.InitialBytes>> images(java.util.List<ContextTaint> taints) {
        Map<Long, Map<Long, long[]>> all = new java.util.HashMap<>();
        for (ContextTaint t : taints) {
            t.image.forEach((call, m) -> {
                Map<Long, long[]> into = all.computeIfAbsent(call, k -> new java.util.HashMap<>());
                m.forEach((key, v) -> {
                    if (!into.containsKey(key)) {
                        into.put(key, v);
                    } else if (into.get(key) != null && (v == null || !java.util.Arrays.equals(into.get(key), v))) {
                        into.put(key, null);
                    }
                });
            });
        }
        Map<Long, java.util.List<SliceResult.InitialBytes>> out = new java.util.HashMap<>();
        all.forEach((call, m) -> {
            java.util.List<SliceResult.InitialBytes> list = new java.util.ArrayList<>();
            new java.util.TreeMap<>(m).forEach((key, v) -> {
                if (v != null) {
                    list.add(new SliceResult.InitialBytes((int) (key >>> 4), (int) (key & 0xF), v[0], v[1] != 0));
                }
            });
            out.put(call, list);
        });
        return out;
    }

    /**
     * Records one execution of a load µop: replayable only if every execution of it (here and in
     * the other traces) reads allocation metadata, always the same value, and no kernel pointer.
     */
    private void metadataLoad(int key, MemoryAccess a, boolean metadata) {
        long value = a.value();
        boolean pointer = a.size() == 8 && value < 0;   // the kernel half: an address of training's
        Long had = metadataLoads.get(key);
        if (!metadata) {
            if (had != null) {
                metadataLoads.put(key, NOT_REPLAYABLE);
            } else {
                seenPlain.add(key);
            }
        } else if (pointer || seenPlain.contains(key) || had != null && had != value) {
            metadataLoads.put(key, NOT_REPLAYABLE);
        } else if (had == null) {
            metadataLoads.put(key, value);
        }
    }

    /** load µops seen reading memory as any load does (not allocation metadata), by {@code site << 8 | µop} */
    final java.util.Set<Integer> seenPlain = new java.util.HashSet<>();

    private void store(MemoryAccess a, byte taint) {
        for (int b = 0; b < a.size(); b++) {
            long pa = a.byteAddress(b);
            stored.add(pa);
            set(storedContext, pa, (taint & CONTEXT) != 0);
            set(storedAllocation, pa, (taint & ALLOCATION) != 0);
        }
    }

    /** Inside a summarised call only the zero-fill of the returned object is the monitor's (clean data). */
    private void zeroFill(MemoryAccess a) {
        if (summaryKind != Slicer.SummaryKind.ALLOCATE) {
            return;
        }
        for (int b = 0; b < a.size(); b++) {
            if (Long.compareUnsigned(a.va() + b - summaryObject, summaryZeroed) < 0) {
                long pa = a.byteAddress(b);
                stored.add(pa);
                storedContext.remove(pa);
                storedAllocation.remove(pa);
            }
        }
    }

    private static void set(LiveBytes set, long pa, boolean on) {
        if (on) {
            set.add(pa);
        } else {
            set.remove(pa);
        }
    }

    /** Whether linear {@code va} held context at START: the per-CPU area, the trainer's task_struct or its kernel stack. */
    private boolean context(long va) {
        return within(va, perCpu, perCpuSize) || task != 0 && within(va, task, taskSize)
                || stackTop != 0 && within(va, stackTop - KERNEL_STACK, KERNEL_STACK);
    }

    private static boolean within(long va, long base, long size) {
        return base != 0 && Long.compareUnsigned(va - base, size) < 0;
    }
}
