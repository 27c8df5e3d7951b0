package dev.vmsight.slicer;

import dev.vmsight.slicer.SliceResult.AllocatorCall;
import dev.vmsight.slicer.SliceResult.CallFrame;
import dev.vmsight.slicer.SliceResult.SummarisedCall;
import dev.vmsight.slicer.SliceResult.ControlKind;
import dev.vmsight.slicer.SliceResult.ControlRole;
import dev.vmsight.slicer.SliceResult.ControlSite;
import dev.vmsight.slicer.SliceResult.Criterion;
import dev.vmsight.slicer.SliceResult.InstructionKey;
import dev.vmsight.slicer.SliceResult.SiteSlice;
import dev.vmsight.slicer.SliceResult.Statistics;
import dev.vmsight.tracer.trace.TraceHeader;
import dev.vmsight.tracer.trace.TraceReader;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Slices a set of traces of one training program: one forward pass per trace to index it (sites,
 * dropped interrupt handlers, allocator calls, CFG edges), then backward passes from the criterion
 * over every trace, round after round, until no site gains a µop and (RELAXED) no guard changes.
 */
public final class Slicer {
    /** The user allocator functions replaced by summaries. */
    static final List<String> ALLOCATORS = List.of("malloc", "calloc", "realloc", "free");

    /**
     * The kernel functions replaced by summaries (their addresses come from the trace header,
     * recorded by the tracer from the guest's /proc/kallsyms as {@code kernel.symbol.NAME}): the
     * random-number sources (a monitor has no guest entropy: the value training saw is replayed)
     * and the slab/kmalloc allocators and frees (what the slice needs from an allocation is fresh
     * memory, not the guest's address for it). These are the kernel's exported interfaces, not its
     * internals; a summary that turns out unsound for a slice (a leak) is dropped and the slice
     * redone without it.
     */
    public static final Map<String, SummaryKind> KERNEL_SUMMARIES = Map.ofEntries(
            Map.entry("get_random_u8", SummaryKind.RANDOM), Map.entry("get_random_u16", SummaryKind.RANDOM),
            Map.entry("get_random_u32", SummaryKind.RANDOM), Map.entry("get_random_u64", SummaryKind.RANDOM),
            Map.entry("kmem_cache_alloc", SummaryKind.ALLOCATE), Map.entry("kmem_cache_alloc_lru", SummaryKind.ALLOCATE),
            Map.entry("kmem_cache_alloc_node", SummaryKind.ALLOCATE), Map.entry("__kmalloc", SummaryKind.ALLOCATE),
            Map.entry("__kmalloc_node", SummaryKind.ALLOCATE), Map.entry("kmalloc_trace", SummaryKind.ALLOCATE),
            Map.entry("kmalloc_node_trace", SummaryKind.ALLOCATE), Map.entry("kmalloc_large", SummaryKind.ALLOCATE),
            Map.entry("kfree", SummaryKind.RELEASE), Map.entry("kmem_cache_free", SummaryKind.RELEASE),
            // kvmalloc (seq_file's buffer), vmalloc and whole pages: memory by virtual address, as kmalloc's
            Map.entry("kvmalloc_node", SummaryKind.ALLOCATE), Map.entry("vmalloc", SummaryKind.ALLOCATE),
            Map.entry("vzalloc", SummaryKind.ALLOCATE), Map.entry("__vmalloc", SummaryKind.ALLOCATE),
            Map.entry("__get_free_pages", SummaryKind.ALLOCATE), Map.entry("get_zeroed_page", SummaryKind.ALLOCATE),
            Map.entry("kvfree", SummaryKind.RELEASE), Map.entry("vfree", SummaryKind.RELEASE),
            Map.entry("free_pages", SummaryKind.RELEASE),
            // the same interfaces from 6.10 on, where allocation profiling renamed them (alloc_hooks wraps the _noprof ones)
            Map.entry("kmem_cache_alloc_noprof", SummaryKind.ALLOCATE), Map.entry("kmem_cache_alloc_lru_noprof", SummaryKind.ALLOCATE),
            Map.entry("kmem_cache_alloc_node_noprof", SummaryKind.ALLOCATE), Map.entry("__kmalloc_noprof", SummaryKind.ALLOCATE),
            Map.entry("__kmalloc_node_noprof", SummaryKind.ALLOCATE), Map.entry("__kmalloc_cache_noprof", SummaryKind.ALLOCATE),
            Map.entry("__kmalloc_cache_node_noprof", SummaryKind.ALLOCATE), Map.entry("__kmalloc_large_noprof", SummaryKind.ALLOCATE),
            Map.entry("__kmalloc_large_node_noprof", SummaryKind.ALLOCATE), Map.entry("__kvmalloc_node_noprof", SummaryKind.ALLOCATE),
            Map.entry("vmalloc_noprof", SummaryKind.ALLOCATE), Map.entry("vzalloc_noprof", SummaryKind.ALLOCATE),
            Map.entry("__vmalloc_noprof", SummaryKind.ALLOCATE), Map.entry("get_free_pages_noprof", SummaryKind.ALLOCATE),
            Map.entry("get_zeroed_page_noprof", SummaryKind.ALLOCATE));

    /** The most bytes of a fresh allocation a summary zero-fills (the arena slot's size). */
    static final long MAX_ZEROED = 1L << 20;

    /** The header context key the tracer records a kernel symbol's address under (hex). */
    public static final String SYMBOL_KEY = dev.vmsight.tracer.capture.KernelSymbols.KEY;

    /** What a summarised call stands for. */
    public enum SummaryKind { RANDOM, ALLOCATE, RELEASE }

    static SummaryKind kindOf(String function) {
        return switch (function) {
            case "malloc", "calloc", "realloc" -> SummaryKind.ALLOCATE;
            case "free" -> SummaryKind.RELEASE;
            default -> KERNEL_SUMMARIES.get(function);
        };
    }

    private Slicer() { }

    /**
     * Slices {@code traces} (all of one program, kernel build and END mark) under {@code policy}.
     * {@code trainingBinary}, when present, is the program's ELF file whose malloc/calloc/realloc/free
     * calls become summaries.
     */
    public static SliceResult slice(List<? extends TraceReader> traces, GuardPolicy policy, Optional<Path> trainingBinary) {
        return slice(traces, policy, trainingBinary, java.util.Set.of());
    }

    /**
     * As above; under {@link GuardPolicy#DATA}, the one-direction sites at {@code contextSites}
     * (instruction addresses) are followed as trained like those the taint pass finds decided by
     * the run's context: training's calibration found them going another way on training's own
     * snapshots when the program ran as a monitor does (another task), so they decide on context.
     */
    public static SliceResult slice(List<? extends TraceReader> traces, GuardPolicy policy, Optional<Path> trainingBinary,
                                    java.util.Set<Long> contextSites) {
        Map<Long, String> allocators = new HashMap<>();
        if (trainingBinary.isPresent()) {
            Map<String, Long> symbols = ElfSymbols.functions(trainingBinary.get());
            for (String fn : ALLOCATORS) {
                Long at = symbols.get(fn);
                if (at != null) {
                    allocators.put(at, fn);
                }
            }
        }
        if (!traces.isEmpty()) {
            traces.get(0).header().context().forEach((k, v) -> {
                if (k.startsWith(SYMBOL_KEY) && KERNEL_SUMMARIES.containsKey(k.substring(SYMBOL_KEY.length()))) {
                    allocators.put(Long.parseUnsignedLong(v, 16), k.substring(SYMBOL_KEY.length()));
                }
            });
        }
        if (policy == GuardPolicy.STRICT || policy == GuardPolicy.RELAXED) {
            // An arena address is not where the guest's allocator would put an object: range checks
            // on it (hardened usercopy's check_stack_object, virt_addr_valid, the slab lookup of the
            // object's page) go the other way. Without guards that is followed silently; with guards
            // it is an UnseenPath on every run, so a guarded program keeps the allocators.
            allocators.values().removeIf(fn -> kindOf(fn) != SummaryKind.RANDOM);
        }
        return slice(traces, policy, allocators, contextSites);
    }

    /**
     * As above, with the summarised entry points given (address → function name). A summary that
     * leaks is dropped and the slice redone without it; the result lists the dropped ones.
     */
    static SliceResult slice(List<? extends TraceReader> traces, GuardPolicy policy, Map<Long, String> summarised) {
        return slice(traces, policy, summarised, java.util.Set.of());
    }

    static SliceResult slice(List<? extends TraceReader> traces, GuardPolicy policy, Map<Long, String> summarised,
                             java.util.Set<Long> contextSites) {
        java.util.Set<Long> unsummarised = new java.util.HashSet<>();
        Map<Long, String> dropped = new java.util.TreeMap<>(Long::compareUnsigned);
        while (true) {
            SliceResult r = sliceOnce(traces, policy, summarised, unsummarised, contextSites);
            if (r.summaryLeaks().isEmpty()) {
                return r.withDroppedSummaries(dropped);
            }
            dropped.putAll(r.summaryLeaks());
            unsummarised.addAll(r.summaryLeaks().keySet());
        }
    }

    private static SliceResult sliceOnce(List<? extends TraceReader> traces, GuardPolicy policy, Map<Long, String> allocators,
                                         java.util.Set<Long> unsummarised, java.util.Set<Long> contextSites) {
        long t0 = System.nanoTime();
        if (traces.isEmpty()) {
            throw new SliceException("no traces to slice");
        }
        TraceHeader first = traces.get(0).header();
        for (TraceReader t : traces) {
            check(first, t.header());
            if (!t.summary().reachedEnd()) {
                throw new SliceException("a trace of " + t.header().program() + " did not reach END (vmsight_mark_out at 0x"
                        + Long.toHexString(t.header().marks().markOut()) + "): there is no criterion to slice from");
            }
        }
        Sites table = new Sites(first.features());
        LiveBytes edges = new LiveBytes();
        CallStructure structure = new CallStructure();
        List<TraceIndex> indexes = new ArrayList<>();
        for (TraceReader t : traces) {
            indexes.add(TraceIndex.build(t, table, edges, allocators, structure, unsummarised));
        }
        structure.finish();
        BitSet contextDecided = new BitSet();   // DATA: one-direction sites decided by the run's context in every instance
        Map<Integer, Long> replayed = new HashMap<>();   // DATA: loads of allocation metadata, by site << 8 | µop
        java.util.Set<Integer> plainLoads = new java.util.HashSet<>();
        List<ContextTaint> taints = new ArrayList<>();
        if (policy == GuardPolicy.DATA) {
            BitSet byData = new BitSet();
            for (int i = 0; i < traces.size(); i++) {
                ContextTaint t = ContextTaint.of(traces.get(i), table, indexes.get(i));
                taints.add(t);
                contextDecided.or(t.decidedByContext);
                byData.or(t.decidedByData);
                t.metadataLoads.forEach((k, v) -> replayed.merge(k, v, (a, b) -> a.equals(b) ? a : ContextTaint.NOT_REPLAYABLE));
                plainLoads.addAll(t.seenPlain);
            }
            replayed.keySet().removeAll(plainLoads);     // replayed only if no trace ever read it as a plain load
            replayed.values().removeIf(v -> v.equals(ContextTaint.NOT_REPLAYABLE));
            contextDecided.andNot(byData);
            for (long address : contextSites) {
                table.at(address).forEach(contextDecided::set);
            }
        }
        Map<Long, Long> zeroedByCall = new HashMap<>();   // per call site: the fewest zeroed bytes of any instance
        BitSet summarisedCallSites = new BitSet();
        for (TraceIndex ix : indexes) {
            for (TraceIndex.SummarisedCall c : ix.summarisedCalls) {
                zeroedByCall.merge(c.callAddress(), kindOf(c.function()) == SummaryKind.ALLOCATE ? c.zeroed() : 0, Math::min);
                table.at(c.callAddress()).forEach(summarisedCallSites::set);
            }
        }
        int[] lastSites = indexes.stream().mapToInt(ix -> ix.lastSite).toArray();
        long[] edgeList = edges.toArray();
        ControlDependence runnable = new ControlDependence(table, edgeList, lastSites, structure, false);
        ControlDependence withUnseen = policy == GuardPolicy.RELAXED || policy == GuardPolicy.DATA
                ? new ControlDependence(table, edgeList, lastSites, structure, true) : null;

        int n = table.size();
        boolean[] sliced = new boolean[n];
        boolean[] guard = new boolean[n];
        boolean[] callHasKept = new boolean[n];
        for (int s = 0; s < n; s++) {
            if (table.control.get(s) != null && !structure.structuredReturn(s) && !structure.structuredCall(s)
                    && table.successors.get(s).size() < 2 && policy == GuardPolicy.STRICT) {
                sliced[s] = guard[s] = true;
            }
        }
        Producers producers = new Producers(table);
        int rounds = 0;
        List<BackwardPass> last;
        boolean changed;
        do {
            rounds++;
            producers.clear();
            last = new ArrayList<>();
            changed = false;
            for (int i = 0; i < traces.size(); i++) {
                BackwardPass p = new BackwardPass(table, indexes.get(i), sliced, producers, i, rounds, structure, callHasKept,
                        zeroedByCall, replayed);
                p.run(traces.get(i));
                changed |= p.changed;
                last.add(p);
            }
            for (BackwardPass p : last) {     // a thunk passed over for a call that keeps something after all
                changed |= p.skippedThunkCalls.stream().anyMatch(c -> !BackwardPass.skippable(table, callHasKept, c));
            }
            // a µop writing a register some kept µop may read on a merged path (not only a traced one)
            changed |= StaticLiveness.close(table, edgeList, lastSites, structure, summarisedCallSites, callHasKept);
            // a store after a kept store to the same byte (a lock's release): the run's view of memory stays the kernel's
            changed |= policy == GuardPolicy.DATA && StoreClosure.close(traces, indexes, table);
            while (decideControl(policy, table, structure, runnable, withUnseen, callHasKept, sliced, guard, contextDecided)) {
                changed = true;   // a site just sliced that the program runs is an anchor at once: decide again
            }
        } while (changed);

        return result(policy, first, table, indexes, last, sliced, guard, runnable,
                withUnseen == null ? runnable : withUnseen, structure, callHasKept, zeroedByCall, producers,
                rounds, traces.size(), (System.nanoTime() - t0) / 1e9, replayed, ContextTaint.images(taints));
    }

    /**
     * One pass of control decisions: slices each control site some anchor (a kept µop, a call
     * whose callee keeps one, or a site already sliced that the program runs: a backward pass
     * visited it, so not inside a summary or a dropped handler) needs; returns whether one was
     * sliced. Repeating it to a fixpoint within a round saves a backward round per link of a chain
     * of guards (RELAXED).
     */
    private static boolean decideControl(GuardPolicy policy, Sites table, CallStructure structure,
                                         ControlDependence runnable, ControlDependence withUnseen,
                                         boolean[] callHasKept, boolean[] sliced, boolean[] guard, BitSet contextDecided) {
        java.util.function.IntPredicate anchor = r -> sliced[r] && table.visited[r] > 0 || !table.kept.get(r).isEmpty()
                || callHasKept[r];
        boolean decided = false;
        for (int s = 0; s < table.size(); s++) {
            if (sliced[s] || table.control.get(s) == null || structure.structuredReturn(s)) {
                continue;
            }
            boolean multi = table.successors.get(s).size() >= 2;
            boolean needed;
            if (structure.structuredCall(s)) {
                // which callee runs matters only when a callee keeps something
                needed = callHasKept[s] && (multi || guards(policy, s, contextDecided));
            } else if (multi) {
                needed = anchor.test(s) || runnable.controls(s, anchor)
                        || runnable.immediatePostDominator(s) == ControlDependence.NONE;
            } else {
                needed = (policy == GuardPolicy.RELAXED || policy == GuardPolicy.DATA && !contextDecided.get(s))
                        && withUnseen.controls(s, anchor);
            }
            if (needed) {
                sliced[s] = true;
                guard[s] = !multi;
                decided = true;
            }
        }
        return decided;
    }

    /** Whether {@code policy} guards a one-direction structured call site (its callee keeping something). */
    private static boolean guards(GuardPolicy policy, int site, BitSet contextDecided) {
        return switch (policy) {
            case STRICT, RELAXED -> true;
            case DATA -> !contextDecided.get(site);
            case VIRTUOSO -> false;
        };
    }

    private static SliceResult result(GuardPolicy policy, TraceHeader first, Sites table, List<TraceIndex> indexes,
                                      List<BackwardPass> last, boolean[] sliced, boolean[] guard, ControlDependence cd,
                                      ControlDependence guardCd, CallStructure structure, boolean[] callHasKept,
                                      Map<Long, Long> zeroedByCall, Producers producers, int rounds, int traces,
                                      double seconds, Map<Integer, Long> replayed,
                                      Map<Long, List<SliceResult.InitialBytes>> images) {
        Map<InstructionKey, SiteSlice> sites = new LinkedHashMap<>();
        Map<Long, ControlSite> controls = new HashMap<>();
        Map<Long, CallFrame> frames = new HashMap<>();
        int skips = 0, returns = 0;
        long keptSiteUops = 0;
        int keptSites = 0;
        int branches = 0, guards = 0, followed = 0;
        for (int s = 0; s < table.size(); s++) {
            InstructionKey k = table.keys.get(s);
            var kept = table.kept.get(s);
            sites.put(k, new SiteSlice(k.address(), k.bytes(), kept, table.lifted.get(s).uops().size(), table.instances[s]));
            keptSiteUops += kept.cardinality();
            keptSites += kept.isEmpty() ? 0 : 1;
            ControlKind kind = table.control.get(s);
            boolean call = structure.structuredCall(s);
            boolean skipCall = call && BackwardPass.skippable(table, callHasKept, s);
            if (call && !skipCall) {
                frames.put(k.address(), new CallFrame(k.address(), structure.returnAddress(s), structure.preservedLocs(s)));
            }
            if (kind == null && skipCall) {
                kind = ControlKind.CALL;
            }
            if (kind != null) {
                boolean multi = table.successors.get(s).size() >= 2;
                long skipTo = 0;
                ControlRole role;
                if (structure.structuredReturn(s)) {
                    role = ControlRole.RETURN;
                } else if (skipCall) {
                    role = ControlRole.SKIP;
                    skipTo = structure.returnAddress(s);
                } else if (sliced[s]) {
                    role = guard[s] ? ControlRole.GUARD : ControlRole.BRANCH;
                } else if (!multi) {
                    role = ControlRole.FOLLOWED;
                } else {
                    int p = cd.immediatePostDominator(s);
                    role = p == ControlDependence.EXIT ? ControlRole.RETURN : ControlRole.SKIP;
                    skipTo = p >= 0 ? table.keys.get(p).address() : 0;
                }
                skips += role == ControlRole.SKIP ? 1 : 0;
                returns += role == ControlRole.RETURN ? 1 : 0;
                long[] succ = table.successors.get(s).stream().mapToLong(Long::longValue).toArray();
                boolean controlsKept = (multi ? cd : guardCd).controls(s, r -> !table.kept.get(r).isEmpty() || callHasKept[r]);
                ControlSite c = new ControlSite(k.address(), kind, succ, role, controlsKept, skipTo);
                ControlSite had = controls.get(k.address());
                if (had == null || !had.sliced() && c.sliced()) {
                    controls.put(k.address(), c);   // same address, other bytes: the stronger role
                }
                switch (role) {
                    case BRANCH -> branches++;
                    case GUARD -> guards++;
                    case FOLLOWED -> followed++;
                    case SKIP, RETURN -> { }
                }
            }
        }
        long uops = 0, kept = 0, instances = 0, async = 0, inputLoads = 0, allocCalls = 0, deliveries = 0, userFaults = 0;
        int outputBytes = 0;
        for (int i = 0; i < traces; i++) {
            TraceIndex ix = indexes.get(i);
            BackwardPass p = last.get(i);
            uops += ix.uops;
            instances += ix.instructions;
            async += ix.asyncHandlers;
            allocCalls += ix.allocatorCalls;
            userFaults += ix.userPageFaults;
            kept += p.keptExecutions;
            inputLoads += p.inputLoads;
            deliveries += p.deliveriesKept;
            outputBytes = p.outputPhysicalBytes;
        }
        List<AllocatorCall> calls = new ArrayList<>();
        Map<String, Long> perFn = new HashMap<>();
        for (TraceIndex ix : indexes) {
            ix.summaryEntry.values().forEach(fn -> perFn.merge(fn, 1L, Long::sum));
        }
        for (String fn : ALLOCATORS) {
            if (perFn.containsKey(fn)) {
                calls.add(new AllocatorCall(fn, -1, perFn.get(fn)));
            }
        }
        Criterion criterion = new Criterion(first.marks().markOut(), first.expectedOutput().va(),
                first.expectedOutput().length(), outputBytes);
        Map<Long, SummarisedCall> summaries = new HashMap<>();
        for (TraceIndex ix : indexes) {
            for (TraceIndex.SummarisedCall c : ix.summarisedCalls) {
                summaries.putIfAbsent(c.callAddress(), new SummarisedCall(c.callAddress(), c.returnAddress(), c.function(),
                        kindOf(c.function()), c.returned(), zeroedByCall.getOrDefault(c.callAddress(), 0L),
                        images.getOrDefault(c.callAddress(), List.of())));
            }
        }
        Map<Long, String> leaks = new java.util.TreeMap<>(Long::compareUnsigned);
        last.forEach(p -> p.leaks.forEach(leaks::putIfAbsent));
        Statistics stats = new Statistics(traces, uops, kept, table.size(), keptSites, keptSiteUops, instances,
                branches, guards, followed, async, inputLoads, allocCalls, userFaults, rounds, deliveries, seconds,
                skips, returns, frames.size());
        Map<Long, SliceResult.ReplayedLoad> replayedLoads = new HashMap<>();
        replayed.forEach((key, value) -> {
            int site = key >>> 8, uop = key & 0xFF;
            if (table.kept.get(site).get(uop)) {
                long address = table.keys.get(site).address();
                replayedLoads.put(address, new SliceResult.ReplayedLoad(address, uop, value));
            }
        });
        return new SliceResult(policy, criterion, sites, controls, frames, summaries, leaks, calls, stats,
                producers.disagreements(), replayedLoads);
    }

    private static void check(TraceHeader a, TraceHeader b) {
        if (!a.program().equals(b.program())) {
            throw new SliceException("traces of different programs: " + a.program() + " and " + b.program());
        }
        if (!a.guest().kernelTextSha256().equals(b.guest().kernelTextSha256())) {
            throw new SliceException("traces of different kernel builds: .text sha256 " + a.guest().kernelTextSha256()
                    + " and " + b.guest().kernelTextSha256());
        }
        if (!a.features().equals(b.features())) {
            throw new SliceException("traces with different CPU features: " + a.features() + " and " + b.features());
        }
        String layouts = dev.vmsight.tracer.capture.KernelSymbols.layoutMismatch(a.context(), b.context());
        if (layouts != null) {
            throw new SliceException(layouts);
        }
        if (a.marks().markOut() != b.marks().markOut()) {
            throw new SliceException("traces with different END marks: 0x" + Long.toHexString(a.marks().markOut())
                    + " and 0x" + Long.toHexString(b.marks().markOut()));
        }
    }

    /** The function symbols (name → address) of an ELF64 file such as a training binary. */
    public static Map<String, Long> functionSymbols(Path elf) { return ElfSymbols.functions(elf); }

    /** The training binary of {@code program} under the repository root, if it is there. */
    public static Optional<Path> trainingBinary(Path root, String program) {
        Path p = root.resolve(".lab/training/bin").resolve(program);
        return Files.isRegularFile(p) ? Optional.of(p) : Optional.empty();
    }
}
