package dev.vmsight.slicer;

import dev.vmsight.ir.uop.Loc;
import dev.vmsight.ir.uop.Uop;
import dev.vmsight.ir.uop.UopKind;
import dev.vmsight.tracer.trace.DeliveryEvent;
import dev.vmsight.tracer.trace.InstructionEvent;
import dev.vmsight.tracer.trace.MemoryAccess;
import dev.vmsight.tracer.trace.TraceEvent;
import dev.vmsight.tracer.trace.TraceHeader;
import dev.vmsight.tracer.trace.TraceHeader.BufferSpec;
import dev.vmsight.tracer.trace.TraceReader;
import dev.vmsight.tracer.trace.TranslationEvent;
import dev.vmsight.tracer.trace.UopExecution;

import java.util.Arrays;
import java.util.BitSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import static dev.vmsight.slicer.ByteUses.ALL;

/**
 * One backward pass over one trace: live register bytes, flags and physical memory bytes from the
 * criterion at END back to START, keeping every µop that defines something live, every µop the
 * closure already keeps at its site, and the control µops of sliced control sites. Walks
 * {@link TraceReader#backward()} once; nothing but the live sets is held. Kernel-half accesses of
 * kept µops use the page-table entries of their translation; user-half ones do not (the program
 * embeds the training process's memory at its linear addresses, so its mappings are not
 * recomputed).
 */
final class BackwardPass {
    private static final int RAX = 0, RSI = 6, RDI = 7;

    private final Sites table;
    private final TraceIndex index;
    private final boolean[] controlSliced;
    private final Producers producers;
    private final int trace;
    private final int round;

    private final CallStructure structure;
    /** per summarised call site: bytes from the allocated object's start its summary zero-fills */
    private final Map<Long, Long> zeroedByCall;
    /** per site: some instance of this call ran a kept µop inside its callee (monotone over rounds) */
    private final boolean[] callHasKept;
    /** open structured calls, innermost last, walking backward: from the return instance to the call instance */
    private final java.util.ArrayList<OpenCall> calls = new java.util.ArrayList<>();

    /** A callee being walked backward: the call's instance and the liveness of the restored registers after the return. */
    private static final class OpenCall {
        final int callOrdinal;
        final int callSite;
        final int[] restored;
        final int[] liveAfter;
        boolean hasKept;

        OpenCall(int callOrdinal, int callSite, int[] restored, int[] liveAfter) {
            this.callOrdinal = callOrdinal;
            this.callSite = callSite;
            this.restored = restored;
            this.liveAfter = liveAfter;
        }
    }

    private int currentInstruction;
    private final int[] live = new int[Loc.COUNT];
    private final int[] consumer = new int[Loc.ARCH_COUNT];
    private final LiveBytes memory = new LiveBytes();
    private final LiveBytes inputBytes = new LiveBytes();
    private final BitSet pendingTranslations = new BitSet();
    private long faultKeptStep = -1;

    /** Some site gained a µop after an instance of it was already walked this round: walk again. */
    boolean changed;
    /** Calls whose retpoline thunk instances were passed over as skippable (see {@link #inSkippableThunk}). */
    final BitSet skippedThunkCalls = new BitSet();
    long keptExecutions;
    long deliveriesKept;
    long inputLoads;
    int outputPhysicalBytes;

    /** loads the program replays instead of making (allocation metadata), by {@code site << 8 | µop}: no uses */
    private final Map<Integer, Long> replayed;

    BackwardPass(Sites table, TraceIndex index, boolean[] controlSliced, Producers producers, int trace, int round,
                 CallStructure structure, boolean[] callHasKept, Map<Long, Long> zeroedByCall) {
        this(table, index, controlSliced, producers, trace, round, structure, callHasKept, zeroedByCall, Map.of());
    }

    BackwardPass(Sites table, TraceIndex index, boolean[] controlSliced, Producers producers, int trace, int round,
                 CallStructure structure, boolean[] callHasKept, Map<Long, Long> zeroedByCall, Map<Integer, Long> replayed) {
        this.replayed = replayed;
        this.zeroedByCall = zeroedByCall;
        this.structure = structure;
        this.callHasKept = callHasKept;
        this.round = round;
        this.table = table;
        this.index = index;
        this.controlSliced = controlSliced;
        this.producers = producers;
        this.trace = trace;
        Arrays.fill(consumer, -1);
    }

    void run(TraceReader reader) {
        TraceHeader h = reader.header();
        for (long pa : physicalBytes(h.input())) {
            inputBytes.add(pa);
        }
        live[Loc.GPR0 + RDI] = ALL;
        live[Loc.GPR0 + RSI] = ALL;
        for (long pa : physicalBytes(h.expectedOutput())) {
            memory.add(pa);
            outputPhysicalBytes++;
        }
        Iterator<TraceEvent> it = reader.backward();
        int ordinal = (int) index.events;
        int instruction = index.instructions;
        while (it.hasNext()) {
            TraceEvent e = it.next();
            ordinal--;
            if (ordinal < 0) {
                throw new SliceException("trace of " + h.program() + " gave more events backward than forward");
            }
            if (e instanceof InstructionEvent ins) {
                currentInstruction = --instruction;
                instruction(ins, index.sites[instruction], ordinal);
            } else if (e instanceof DeliveryEvent d) {
                if (!index.dropped.get(ordinal) && !index.summarised.get(ordinal)) {
                    delivery(d);
                }
            } else if (e instanceof TranslationEvent t) {
                translation(t);
            }
        }
        if (ordinal != 0 || instruction != 0) {
            throw new SliceException("trace of " + h.program() + " gave fewer events backward than forward");
        }
        for (int loc = 0; loc < Loc.ARCH_COUNT; loc++) {
            if (live[loc] != 0 && consumer[loc] >= 0) {
                producers.record(consumer[loc], loc, trace, Producers.START);
            }
        }
    }

    private void instruction(InstructionEvent ins, int site, int ordinal) {
        if (index.summarised.get(ordinal)) {
            summarised(ins, ordinal);
            return;
        }
        if (site < 0 || index.dropped.get(ordinal)) {
            return;
        }
        if (inSkippableThunk(ordinal)) {
            return;
        }
        BitSet kept = table.kept.get(site);
        List<UopExecution> xs = ins.uops();
        boolean faultKept = faultKeptStep == ins.step();
        faultKeptStep = -1;
        Long call = structure.structuredReturn(site) ? index.returnOfCall.get(ordinal) : null;
        if (call != null) {
            // the program restores these at the return: the callee need not produce them
            int[] restored = structure.preservedLocs((int) (long) call);
            int[] after = new int[restored.length];
            for (int j = 0; j < restored.length; j++) {
                after[j] = live[restored[j]];
                live[restored[j]] = 0;
            }
            calls.add(new OpenCall((int) (call >>> 32), (int) (long) call, restored, after));
        }
        OpenCall inner = calls.isEmpty() ? null : calls.get(calls.size() - 1);
        boolean inCallee = inner != null && inner.callOrdinal != ordinal;
        for (int k = xs.size() - 1; k >= 0; k--) {
            UopExecution x = xs.get(k);
            Uop u = table.uop(site, x.index());
            boolean keep = kept.get(x.index())
                    || controlSliced[site] && ByteUses.isControl(u.kind())
                    || (x.faulted() ? faultKept : defsLive(u, x));
            if (keep) {
                if (!kept.get(x.index())) {
                    kept.set(x.index());
                    changed |= table.visited[site] == round;
                }
                keptExecutions++;
                if (inCallee) {
                    inner.hasKept = true;
                }
                BitSet copies = table.zeroingCopies.get(site);
                apply(u, x, (site << 8) | x.index(), copies != null && copies.get(x.index()));
            }
        }
        table.visited[site] = round;
        Arrays.fill(live, Loc.TEMP0, Loc.COUNT, 0);
        if (inner != null && inner.callOrdinal == ordinal) {
            calls.remove(calls.size() - 1);
            for (int j = 0; j < inner.restored.length; j++) {
                live[inner.restored[j]] |= inner.liveAfter[j];   // restored from the frame: needed before the call
            }
            if (inner.hasKept) {
                changed |= !callHasKept[site];    // no longer skipped: its arguments (static closure) and thunk now count
                callHasKept[site] = true;
                if (!calls.isEmpty()) {
                    calls.get(calls.size() - 1).hasKept = true;
                }
            }
        }
    }

    /**
     * Whether this instruction is part of a retpoline thunk (its call, the store of the target
     * over the return slot, its return: one indirect jump) entered straight from a call whose
     * callee, on this instance, kept nothing after it, while no instance of that call kept
     * anything so far. The thunk's sites are kept for the calls that need them (the same thunk
     * serves every indirect call of the kernel), but here only reaching the target depends on
     * the jump, and the call is skipped: its target register is no dependence. Should the call
     * keep something after all, {@link #skippedThunkCalls} makes the slicer run another round.
     */
    private boolean inSkippableThunk(int ordinal) {
        if (index.inThunks == null || !index.inThunks.get(ordinal) || calls.isEmpty()) {
            return false;
        }
        Map.Entry<Integer, int[]> t = index.thunks.floorEntry(ordinal);
        if (t == null || ordinal > t.getValue()[0]) {
            return false;
        }
        OpenCall inner = calls.get(calls.size() - 1);
        if (inner.callOrdinal != t.getValue()[1] || inner.hasKept || !skippable(table, callHasKept, inner.callSite)) {
            return false;
        }
        skippedThunkCalls.set(inner.callSite);
        return true;
    }

    /** Whether the program skips the structured call at {@code site}: neither its callee nor its own µops keep anything. */
    static boolean skippable(Sites table, boolean[] callHasKept, int site) {
        return !callHasKept[site] && table.kept.get(site).isEmpty();
    }

    private boolean defsLive(Uop u, UopExecution x) {
        for (int o : u.out()) {
            if (o != Loc.RIP && live[o] != 0) {
                return true;
            }
        }
        for (int o : x.sideLocs()) {
            if (o != Loc.RIP && live[o] != 0) {
                return true;
            }
        }
        for (MemoryAccess a : x.accesses()) {
            if (a.write() && anyLive(a)) {
                return true;
            }
        }
        return false;
    }

    private void apply(Uop u, UopExecution x, int who, boolean zeroing) {
        int[] out = u.out();
        if (replayed.containsKey(who)) {
            for (int o : out) {
                kill(o, who);     // a value of training's, replayed: it reads neither its address nor memory
            }
            return;
        }
        int liveOut;
        if (out.length == 1 && out[0] != Loc.RIP && live[out[0]] != 0) {
            liveOut = live[out[0]];
        } else {
            liveOut = ALL;   // no single live output: a control/store/system µop, or kept by closure
        }
        for (MemoryAccess a : x.accesses()) {
            if (a.write()) {
                for (int b = 0; b < a.size(); b++) {
                    memory.remove(a.byteAddress(b));
                }
            }
        }
        for (int o : out) {
            kill(o, who);
        }
        for (int o : x.sideLocs()) {
            kill(o, who);
        }
        int[] in = u.in();
        for (int j = 0; j < in.length; j++) {
            // a kept store runs in every instance of its site: it must write the kernel's value even where
            // training never read it back, or a path training did not take reads garbage from the overlay
            int m = u.kind() == UopKind.STORE && j == 1 ? ALL
                    : zeroing ? 0   // a copy only xor'ed with another copy of itself
                    : ByteUses.uses(u, j, liveOut);
            use(in[j], m, who);
        }
        for (MemoryAccess a : x.accesses()) {
            if (a.translation() >= 0 && !TraceIndex.userHalf(a.va())) {
                pendingTranslations.set(a.translation());
            }
            if (!a.write()) {
                int wanted = u.kind() == UopKind.LOAD ? liveOut : ALL;
                for (int b = 0; b < a.size(); b++) {
                    if ((wanted >>> b & 1) == 0) {
                        continue;
                    }
                    long pa = a.byteAddress(b);
                    if (inputBytes.contains(pa)) {
                        inputLoads++;   // a program input: its producer is the monitor's caller
                    } else {
                        memory.add(pa);
                    }
                }
            }
        }
        for (int loc : OpaqueUses.extra(u, x)) {
            use(loc, ByteUses.full(loc), who);
        }
    }

    private void delivery(DeliveryEvent d) {
        boolean needed = false;
        for (int o : d.writtenLocs()) {
            needed |= o != Loc.RIP && live[o] != 0;
        }
        for (MemoryAccess a : d.accesses()) {
            needed |= a.write() && anyLive(a);
        }
        if (!needed) {
            return;
        }
        deliveriesKept++;
        faultKeptStep = d.step();
        if (!calls.isEmpty()) {
            calls.get(calls.size() - 1).hasKept = true;
        }
        for (MemoryAccess a : d.accesses()) {
            if (a.write()) {
                for (int b = 0; b < a.size(); b++) {
                    memory.remove(a.byteAddress(b));
                }
            }
        }
        for (int o : d.writtenLocs()) {
            kill(o, -1);
        }
        for (int loc : d.readLocs()) {
            use(loc, ByteUses.full(loc), -1);
        }
        for (MemoryAccess a : d.accesses()) {
            if (a.translation() >= 0 && !TraceIndex.userHalf(a.va())) {
                pendingTranslations.set(a.translation());
            }
            if (!a.write()) {
                for (int b = 0; b < a.size(); b++) {
                    memory.add(a.byteAddress(b));
                }
            }
        }
    }

    /** The walk's entries were read when the translation was made: a later use depends on them as they were then. */
    private void translation(TranslationEvent t) {
        if (!pendingTranslations.get(t.id())) {
            return;
        }
        pendingTranslations.clear(t.id());
        for (long pte : t.pteAddresses()) {
            for (int b = 0; b < 8; b++) {
                memory.add(pte + b);
            }
        }
        live[Loc.CR3] = ALL;
    }

    /** Registers a call may change besides rax (System V caller-saved): live after a summary, they would be lost. */
    private static final int[] CLOBBERED = {1, 2, 6, 7, 8, 9, 10, 11};

    /**
     * An event inside a summary. A page-fault summary (demand paging of the training process's
     * memory, which the program embeds) and a call summary both define the bytes they store. A
     * call summary must mean all it did: the program only sets rax (a replayed random value, a
     * fresh arena address) and does not enter the callee, so a byte it stored or a caller-saved
     * register it wrote that is still needed later is a *leak*: the summary of that function is
     * unsound for this slice and the slicer redoes it without ({@link #leaks}).
     */
    private void summarised(InstructionEvent ins, int ordinal) {
        boolean call = index.inCallSummary.get(ordinal);
        int site = index.sites[currentInstruction];
        long object = 0, zeroed = 0;
        if (call) {
            var entry = index.summaryEntry.floorEntry(ordinal);
            Long returned = entry == null ? null : index.summaryReturned.get(entry.getKey());
            if (returned != null) {
                object = returned;
                zeroed = zeroedByCall.getOrDefault(index.summaryCallAt.get(entry.getKey()), 0L);
            }
        }
        java.util.Set<Long> neutral = java.util.Set.of();
        if (call) {
            var entry = index.summaryEntry.floorEntry(ordinal);
            if (entry != null) {
                neutral = index.neutralStores.getOrDefault(entry.getKey(), java.util.Set.of());
            }
        }
        for (UopExecution x : ins.uops()) {
            for (MemoryAccess a : x.accesses()) {
                if (a.write()) {
                    for (int b = 0; b < a.size(); b++) {
                        if (neutral.contains(a.byteAddress(b))) {
                            continue;   // left as the callee found it: still defined by what came before the call
                        }
                        boolean zeroFilled = b < 8 && (byte) (a.value() >>> (8 * b)) == 0
                                && Long.compareUnsigned(a.va() + b - object, zeroed) < 0;
                        if (memory.remove(a.byteAddress(b)) && call && !zeroFilled) {
                            leak(ordinal, "its store to physical 0x" + Long.toHexString(a.byteAddress(b)) + " (at 0x"
                                    + Long.toHexString(ins.rip()) + ") is read later");
                        }
                    }
                }
            }
            if (call && site >= 0 && !x.faulted()) {
                for (int o : table.uop(site, x.index()).out()) {
                    for (int r : CLOBBERED) {
                        if (o == Loc.GPR0 + r && live[o] != 0) {
                            leak(ordinal, Loc.name(o) + " it writes is read after the return"
                                    + (consumer[o] >= 0 ? " (by 0x" + Long.toHexString(table.keys.get(consumer[o] >>> 8).address())
                                    + " µop " + (consumer[o] & 0xFF) + ")" : ""));
                        }
                    }
                }
            }
        }
        String fn = index.summaryEntry.get(ordinal);
        if (fn == null) {
            return;
        }
        kill(Loc.GPR0 + RAX, -1);     // the summary's value; it reads no argument
    }

    private void leak(int ordinal, String why) {
        var e = index.summaryEntry.floorEntry(ordinal);
        if (e != null) {
            long call = index.summaryCallAt.get(e.getKey());
            leaks.putIfAbsent(call, e.getValue() + " called at 0x" + Long.toHexString(call) + ": " + why);
        }
    }

    /** Summarised calls (call instruction address) found unsound for this slice → why (the first reason seen). */
    final java.util.Map<Long, String> leaks = new java.util.HashMap<>();

    private void kill(int loc, int producer) {
        if (loc == Loc.RIP) {
            return;
        }
        if (loc < Loc.ARCH_COUNT && live[loc] != 0 && consumer[loc] >= 0 && producer >= 0) {
            producers.record(consumer[loc], loc, trace, producers.name(producer));
        }
        live[loc] = 0;
        if (loc < Loc.ARCH_COUNT) {
            consumer[loc] = -1;
        }
    }

    /** RIP is decided by control flow (sliced as control sites), never a data dependence. */
    private void use(int loc, int mask, int who) {
        if (loc == Loc.RIP || mask == 0) {
            return;
        }
        live[loc] |= mask;
        if (loc < Loc.ARCH_COUNT && who >= 0) {
            consumer[loc] = who;
        }
    }

    private boolean anyLive(MemoryAccess a) {
        for (int b = 0; b < a.size(); b++) {
            if (memory.contains(a.byteAddress(b))) {
                return true;
            }
        }
        return false;
    }

    /** The physical address of every byte of a mark's buffer, from its page list. */
    static long[] physicalBytes(BufferSpec b) {
        long[] out = new long[b.length()];
        long off = b.va() & 0xFFF;
        for (int k = 0; k < b.length(); k++) {
            int page = (int) ((off + k) >>> 12);
            if (page >= b.pagePhysicalAddresses().length) {
                throw new SliceException("buffer " + b.name() + " at va 0x" + Long.toHexString(b.va()) + " spans more pages than the "
                        + b.pagePhysicalAddresses().length + " it lists");
            }
            out[k] = (b.pagePhysicalAddresses()[page] & ~0xFFFL) + ((off + k) & 0xFFF);
        }
        return out;
    }
}
