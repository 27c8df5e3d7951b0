package dev.vmsight.tracer.replay;

import dev.vmsight.ir.interp.CpuFault;
import dev.vmsight.ir.interp.Environment;
import dev.vmsight.ir.interp.MachineState;
import dev.vmsight.ir.sys.DataAccess;
import dev.vmsight.ir.sys.MachineObserver;
import dev.vmsight.ir.sys.Step;
import dev.vmsight.ir.sys.Translation;
import dev.vmsight.ir.uop.LiftedInstruction;
import dev.vmsight.ir.uop.Loc;
import dev.vmsight.ir.uop.Uop;
import dev.vmsight.ir.uop.UopKind;
import dev.vmsight.tracer.trace.DeliveryEvent;
import dev.vmsight.tracer.trace.EnvInputEvent;
import dev.vmsight.tracer.trace.InstructionEvent;
import dev.vmsight.tracer.trace.MemoryAccess;
import dev.vmsight.tracer.trace.TraceEvent;
import dev.vmsight.tracer.trace.TraceSink;
import dev.vmsight.tracer.trace.TranslationEvent;
import dev.vmsight.tracer.trace.UopExecution;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns what a {@link dev.vmsight.ir.sys.SystemMachine} does into trace events: watch the machine
 * with it ({@code machine.watch(recorder)}), give the machine {@link #recording(Environment)} as
 * its environment, and call {@link #endStep()} after each {@code machine.step()}. Per step it
 * writes, in order: the {@link TranslationEvent}s and {@link EnvInputEvent}s the instruction
 * needed (each translation before its first use), the {@link InstructionEvent}, then for a
 * delivery its new translations and the {@link DeliveryEvent}. Steps are numbered from 1.
 * It never calls {@link TraceSink#finish}: the caller owns the summary ({@link #counts()}).
 */
public final class TraceRecorder implements MachineObserver {
    /**
     * What an exception delivery reads besides memory (SDM vol. 3 §6.12.1, §6.14): the stack
     * pointer and SS it switches from, RFLAGS pushed (every flag location and IOPL), CS (the CPL
     * and the selector pushed), RIP, and the paging and mode registers every access goes through.
     */
    static final int[] DELIVERY_READS;

    static {
        List<Integer> reads = new ArrayList<>(List.of(Loc.GPR0 + 4, Loc.RIP, Loc.SEL0 + 1, Loc.SEL0 + 2, Loc.IOPL,
                Loc.CR0, Loc.CR3, Loc.CR4, Loc.EFER));
        for (int flag : Loc.FLAG_LOCS) {
            reads.add(flag);
        }
        DELIVERY_READS = reads.stream().mapToInt(Integer::intValue).sorted().toArray();
    }

    private record SiteKey(long rip, long low, long high, int length) {
        static SiteKey of(long rip, byte[] b) {
            long low = 0, high = 0;
            for (int k = 0; k < b.length; k++) {
                if (k < 8) {
                    low |= (b[k] & 0xFFL) << (8 * k);
                } else {
                    high |= (b[k] & 0xFFL) << (8 * (k - 8));
                }
            }
            return new SiteKey(rip, low, high, b.length);
        }
    }

    private final TraceSink sink;
    private final Map<Long, Integer> translationIds = new HashMap<>();
    private final Map<SiteKey, BitSet> sitesSeen = new HashMap<>();

    private long step;
    private long instructions, uops, kernel, distinctSites, deliveries, envInputs;

    // the step being recorded
    private long rip;
    private int cpl;
    private byte[] bytes;
    private BitSet sites;
    private final List<TraceEvent> beforeInstruction = new ArrayList<>();
    private final List<UopExecution> executed = new ArrayList<>();
    private final List<TraceEvent> beforeDelivery = new ArrayList<>();
    private DeliveryEvent delivery;
    private boolean stepOpen;

    // the µop being recorded
    private long[] inputs;
    private long[] systemBefore;
    private final List<MemoryAccess> accesses = new ArrayList<>();

    // the delivery being recorded
    private boolean delivering;
    private long[] deliveryBefore;
    private final List<MemoryAccess> deliveryAccesses = new ArrayList<>();

    public TraceRecorder(TraceSink sink) { this.sink = sink; }

    /** The step being (or last) recorded, numbered from 1. */
    public long step() { return step; }

    /** Counts of everything written so far. */
    public RecordedCounts counts() {
        return new RecordedCounts(instructions, uops, kernel, instructions - kernel, distinctSites, deliveries,
                translationIds.size(), envInputs);
    }

    /**
     * {@code inner}, with every answer also written as an {@link EnvInputEvent} of the current
     * step (source: {@link RecordedEnvironment#lastSource()} when {@code inner} is one).
     */
    public Environment recording(Environment inner) {
        return new Environment() {
            @Override public long rdtsc() { return record("RDTSC", new long[0], inner.rdtsc()); }

            @Override public long[] cpuid(long leaf, long subleaf) {
                long[] v = inner.cpuid(leaf, subleaf);
                note("CPUID", new long[]{leaf, subleaf}, v.clone());
                return v;
            }

            @Override public long rdmsr(long msr) { return record("RDMSR", new long[]{msr}, inner.rdmsr(msr)); }

            @Override public long portIn(long port, int size) {
                return record("PORT_IN", new long[]{port, size}, inner.portIn(port, size));
            }

            @Override public long rdrand(int size) { return record("RDRAND", new long[]{size}, inner.rdrand(size)); }

            @Override public long rdpkru() { return record("RDPKRU", new long[0], inner.rdpkru()); }

            private long record(String kind, long[] args, long value) {
                note(kind, args, new long[]{value});
                return value;
            }

            private void note(String kind, long[] args, long[] values) {
                String source = inner instanceof RecordedEnvironment r ? r.lastSource() : "environment";
                beforeInstruction.add(new EnvInputEvent(step, kind, args, values, source));
                envInputs++;
            }
        };
    }

    @Override
    public void fetched(long rip, int cpl, LiftedInstruction li) {
        step++;
        stepOpen = true;
        this.rip = rip;
        this.cpl = cpl;
        this.bytes = li == null ? null : li.instruction().bytes();
        this.sites = li == null ? null : sitesSeen.computeIfAbsent(SiteKey.of(rip, bytes), k -> new BitSet());
    }

    @Override
    public void before(int index, Uop uop, MachineState state) {
        int[] in = uop.in();
        inputs = new long[in.length];
        for (int i = 0; i < in.length; i++) {
            inputs[i] = state.get(in[i]);
        }
        systemBefore = uop.kind().has(UopKind.Flag.SYSTEM) ? state.architectural() : null;
        accesses.clear();
    }

    @Override
    public void after(int index, Uop uop, MachineState state) {
        int[] out = uop.out();
        long[] outputs = new long[out.length];
        for (int i = 0; i < out.length; i++) {
            outputs[i] = state.get(out[i]);
        }
        finishUop(index, uop, outputs, state, false);
    }

    @Override
    public void faulted(int index, Uop uop, CpuFault fault, MachineState state) {
        finishUop(index, uop, UopExecution.NO_VALUES, state, true);
    }

    private void finishUop(int index, Uop uop, long[] outputs, MachineState state, boolean faulted) {
        int[] sideLocs = UopExecution.NO_LOCS;
        long[] sideValues = UopExecution.NO_VALUES;
        if (systemBefore != null) {
            long[] after = state.architectural();
            for (int o : uop.out()) {
                if (o < after.length) {
                    systemBefore[o] = after[o];   // outputs are recorded as outputs, not again as side effects
                }
            }
            int[] changed = changed(systemBefore, after);
            sideLocs = changed;
            sideValues = valuesAt(after, changed);
        }
        MemoryAccess[] made = accesses.isEmpty() ? UopExecution.NO_ACCESSES : accesses.toArray(new MemoryAccess[0]);
        executed.add(new UopExecution(index, inputs, outputs, made, sideLocs, sideValues, faulted));
        accesses.clear();
        systemBefore = null;
        if (sites != null && !sites.get(index)) {
            sites.set(index);
            distinctSites++;
        }
    }

    @Override
    public void access(DataAccess a) {
        int id = -1;
        Translation t = a.translation();
        if (t != null) {
            Integer known = translationIds.get(t.serial());
            if (known == null) {
                known = translationIds.size();
                translationIds.put(t.serial(), known);
                (delivering ? beforeDelivery : beforeInstruction).add(new TranslationEvent(step, known, t.cr3(),
                        t.pageBase(), t.pageSize(), t.frame(), t.entryAddresses().clone(), t.entryValues().clone()));
            }
            id = known;
        }
        MemoryAccess m = new MemoryAccess(a.va(), a.pa(), a.pa2(), a.size(), a.value(), a.write(), id);
        (delivering ? deliveryAccesses : accesses).add(m);
    }

    @Override
    public void deliveryStarts(CpuFault fault, MachineState state) {
        delivering = true;
        deliveryBefore = state.architectural();
        deliveryAccesses.clear();
    }

    @Override
    public void delivered(Step.Delivery d, long returnRip, MachineState state) {
        long[] after = state.architectural();
        int[] written = changed(deliveryBefore, after);
        delivery = new DeliveryEvent(step, d.vector(), d.errorCode(), returnRip, d.handler(), d.cause(),
                deliveryAccesses.toArray(new MemoryAccess[0]), DELIVERY_READS.clone(), written, valuesAt(after, written));
        delivering = false;
    }

    /** Writes the events of the step just executed. */
    public void endStep() {
        if (!stepOpen) {
            throw new IllegalStateException("endStep() without a step: watch the machine with this recorder first");
        }
        beforeInstruction.forEach(sink::write);
        sink.write(new InstructionEvent(step, rip, cpl, bytes, executed));
        instructions++;
        kernel += cpl == 0 ? 1 : 0;
        uops += executed.size();
        beforeDelivery.forEach(sink::write);
        if (delivery != null) {
            sink.write(delivery);
            deliveries++;
        }
        beforeInstruction.clear();
        executed.clear();
        beforeDelivery.clear();
        delivery = null;
        delivering = false;
        stepOpen = false;
    }

    private static int[] changed(long[] before, long[] after) {
        int n = 0;
        for (int i = 0; i < before.length; i++) {
            n += before[i] != after[i] ? 1 : 0;
        }
        int[] locs = new int[n];
        for (int i = 0, k = 0; i < before.length; i++) {
            if (before[i] != after[i]) {
                locs[k++] = i;
            }
        }
        return locs;
    }

    private static long[] valuesAt(long[] values, int[] locs) {
        long[] r = new long[locs.length];
        for (int i = 0; i < locs.length; i++) {
            r[i] = values[locs[i]];
        }
        return r;
    }
}
