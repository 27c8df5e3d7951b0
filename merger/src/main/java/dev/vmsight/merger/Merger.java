package dev.vmsight.merger;

import dev.vmsight.ir.sys.CpuFeatures;
import dev.vmsight.ir.sys.SystemMachine;
import dev.vmsight.ir.uop.LiftedInstruction;
import dev.vmsight.ir.uop.Loc;
import dev.vmsight.ir.uop.Uop;
import dev.vmsight.ir.uop.UopKind;
import dev.vmsight.merger.MergedProgram.ControlKind;
import dev.vmsight.merger.MergedProgram.ControlRole;
import dev.vmsight.merger.MergedProgram.ControlSite;
import dev.vmsight.merger.MergedProgram.LiveIn;
import dev.vmsight.merger.MergedProgram.MemoryRange;
import dev.vmsight.merger.MergedProgram.OutputKind;
import dev.vmsight.merger.MergedProgram.OutputSpec;
import dev.vmsight.merger.MergedProgram.ProgramInput;
import dev.vmsight.merger.MergedProgram.ProgramInstruction;
import dev.vmsight.merger.MergedProgram.Statistics;
import dev.vmsight.tracer.trace.DeliveryEvent;
import dev.vmsight.tracer.trace.InstructionEvent;
import dev.vmsight.tracer.trace.MemoryAccess;
import dev.vmsight.tracer.trace.TraceEvent;
import dev.vmsight.tracer.trace.TraceHeader;
import dev.vmsight.tracer.trace.TraceReader;
import dev.vmsight.tracer.trace.UopExecution;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Merges the slices of several traces of one training program into a {@link MergedProgram}: the
 * union of the instructions (kept µops by site), the control sites with every observed successor
 * and their role, the live-ins classified across traces, the user-half bytes the kept loads read
 * before any kept store wrote them, and the output spec. One forward pass per trace.
 */
public final class Merger {
    private Merger() { }

    /** The merged program and what the merge noticed (conflicting user bytes...). */
    public record Merge(MergedProgram program, List<String> notes) { }

    public static Merge merge(List<? extends TraceReader> traces, SliceInput slice) {
        if (traces.isEmpty()) {
            throw new MergeException("no traces to merge");
        }
        TraceHeader first = traces.get(0).header();
        for (TraceReader t : traces) {
            check(first, t.header());
        }
        State s = new State(first.features(), slice);
        for (TraceReader t : traces) {
            s.add(t);
        }
        return s.finish(first, traces.size());
    }

    private static void check(TraceHeader a, TraceHeader b) {
        if (!a.program().equals(b.program())) {
            throw new MergeException("traces of different programs: " + a.program() + " and " + b.program());
        }
        if (!a.guest().kernelTextSha256().equals(b.guest().kernelTextSha256())) {
            throw new MergeException("traces of different kernel builds: .text sha256 " + a.guest().kernelTextSha256()
                    + " and " + b.guest().kernelTextSha256());
        }
        if (!a.features().equals(b.features())) {
            throw new MergeException("traces with different CPU features: " + a.features() + " and " + b.features());
        }
        String layouts = dev.vmsight.tracer.capture.KernelSymbols.layoutMismatch(a.context(), b.context());
        if (layouts != null) {
            throw new MergeException(layouts);
        }
        if (a.marks().markOut() != b.marks().markOut()) {
            throw new MergeException("traces with different END marks: 0x" + Long.toHexString(a.marks().markOut())
                    + " and 0x" + Long.toHexString(b.marks().markOut()) + " (another build of the training program?)");
        }
    }

    /** The output decoding of Virtuoso's six programs (guests/training/*.c). */
    public static OutputKind outputKind(String program) {
        return switch (program) {
            case "pslist" -> OutputKind.INT32_LIST;
            case "getpid", "gettime" -> OutputKind.INT64;
            case "lsmod" -> OutputKind.UINT64_LIST;
            case "getpsfile", "getdrvfile" -> OutputKind.STRING;
            default -> throw new MergeException("no output decoding known for training program '" + program
                    + "' (known: pslist, getpid, gettime, lsmod, getpsfile, getdrvfile)");
        };
    }

    /**
     * The run context of a program from its first trace's recorded kernel symbols (none: {@link
     * RunContext#NONE}). getpid asks which task runs, so it runs as the vCPU's own; every other
     * program asks about the system and runs as init_task.
     */
    static RunContext runContext(TraceHeader header) {
        Map<String, String> c = header.context();
        String key = dev.vmsight.tracer.capture.KernelSymbols.KEY;
        long perCpu = symbol(c, key + "__per_cpu_offset"), slot = symbol(c, key + "current_task");
        if (perCpu == 0 || slot == 0) {
            return RunContext.NONE;
        }
        return new RunContext(perCpu, slot, symbol(c, key + "init_task"), symbol(c, key + "init_top_pgt"),
                symbol(c, key + "phys_base"),
                header.program().equals("getpid") ? RunContext.Task.VCPU_CURRENT : RunContext.Task.INIT_TASK,
                layout(c), new RunContext.RegionSymbols(symbol(c, key + "page_offset_base"), symbol(c, key + "vmalloc_base"),
                symbol(c, key + "vmemmap_base")));
    }

    /**
     * The traced boot's kernel layout: {@code _text} from its symbols, the region bases as the
     * tracer read them. A trace without them is of a nokaslr boot (the tracer's guests, before
     * they were recorded), unless its {@code _text} says the image was slid: then the bases cannot
     * be known and the program could not be moved to another boot.
     */
    static KernelLayout layout(Map<String, String> c) {
        String key = dev.vmsight.tracer.capture.KernelSymbols.KEY;
        String region = dev.vmsight.tracer.capture.KernelSymbols.REGION_KEY;
        KernelLayout d = KernelLayout.NOKASLR;
        long text = symbol(c, key + "_text");
        text = text == 0 ? d.text() : text;
        long pageOffset = symbol(c, region + "page_offset_base"), vmalloc = symbol(c, region + "vmalloc_base"),
                vmemmap = symbol(c, region + "vmemmap_base");
        if (pageOffset == 0 || vmalloc == 0 || vmemmap == 0) {
            if (text != d.text()) {
                throw new MergeException("the traces are of a KASLR boot (_text at 0x" + Long.toHexString(text)
                        + ") and do not record its region bases (traced before vmsight recorded them): trace again");
            }
            return d;
        }
        return new KernelLayout(text, pageOffset, vmalloc, vmemmap);
    }

    private static long symbol(Map<String, String> context, String key) {
        String v = context.get(key);
        return v == null ? 0 : Long.parseUnsignedLong(v, 16);
    }

    private record Key(long address, byte[] bytes) {
        @Override public boolean equals(Object o) {
            return o instanceof Key k && k.address == address && Arrays.equals(k.bytes, bytes);
        }

        @Override public int hashCode() { return Long.hashCode(address) * 31 + Arrays.hashCode(bytes); }
    }

    private static final class Insn {
        final Key key;
        final LiftedInstruction lifted;
        final boolean[] kept;
        final int cpl;
        final TreeSet<Long> successors = new TreeSet<>();
        boolean delivered;

        Insn(Key key, LiftedInstruction lifted, boolean[] kept, int cpl) {
            this.key = key;
            this.lifted = lifted;
            this.kept = kept;
            this.cpl = cpl;
        }
    }

    private static final class State {
        final CpuFeatures features;
        final SliceInput slice;
        final Map<Key, Insn> insns = new HashMap<>();
        final Map<Long, Key> byAddress = new HashMap<>();
        /** per trace: live-in values, location → value */
        final List<Map<Integer, Long>> liveIns = new ArrayList<>();
        final TreeMap<Long, Byte> userBytes = new TreeMap<>();
        final List<String> notes = new ArrayList<>();
        final TreeMap<Long, MergedProgram.EnvValue> environment = new TreeMap<>(Long::compareUnsigned);
        long executions;
        long keptExecutions;
        boolean userEntry;
        Long entry;

        final Map<Long, MergedProgram.CallFrame> frames;

        State(CpuFeatures features, SliceInput slice) {
            this.features = features;
            this.slice = slice;
            this.frames = slice.frames();
        }

        void add(TraceReader trace) {
            Map<Integer, Long> live = new TreeMap<>();
            BitSet written = new BitSet(Loc.ARCH_COUNT);
            Set<Long> storedUser = new HashSet<>();
            Insn previous = null;
            boolean first = true;
            boolean kernelTouched = false;
            Iterator<TraceEvent> it = trace.forward();
            while (it.hasNext()) {
                TraceEvent e = it.next();
                if (e instanceof DeliveryEvent) {
                    // an exception taken in training (a #PF on a page first touched, say): runs do
                    // not deliver exceptions (stores go to the overlay), so the handler is not a
                    // successor; the instruction after the handler's iret is the iret's successor
                    if (previous != null) {
                        previous.delivered = true;
                        previous = null;
                    }
                    continue;
                }
                if (!(e instanceof InstructionEvent ie)) {
                    continue;
                }
                if (ie.bytes() == null) {
                    throw new MergeException("trace of " + trace.header().program() + ": instruction fetch faulted at rip 0x"
                            + Long.toHexString(ie.rip()) + " (step " + ie.step() + "): such traces are not merged");
                }
                if (first) {
                    first = false;
                    if (entry == null) {
                        entry = ie.rip();
                        userEntry = ie.cpl() == 3;
                    } else if (entry != ie.rip()) {
                        throw new MergeException("traces start at different addresses: 0x" + Long.toHexString(entry)
                                + " and 0x" + Long.toHexString(ie.rip()));
                    }
                }
                if (previous != null) {
                    previous.successors.add(ie.rip());
                }
                Insn insn = insn(ie);
                MergedProgram.CallFrame frame = frames.get(ie.rip());
                if (frame != null) {
                    // the frame push reads these; a needed one is computed by kept µops or live at START
                    for (int loc : frame.restoredLocs()) {
                        if (!written.get(loc) && !live.containsKey(loc)) {
                            live.put(loc, startValue(trace, loc));
                        }
                    }
                }
                for (UopExecution u : ie.uops()) {
                    executions++;
                    if (!insn.kept[u.index()]) {
                        continue;
                    }
                    keptExecutions++;
                    Uop uop = insn.lifted.uops().get(u.index());
                    if (uop.kind().has(UopKind.Flag.ENV) && !u.faulted()) {
                        environment.putIfAbsent(ie.rip(), new MergedProgram.EnvValue(ie.rip(), u.index(), u.outputs().clone()));
                    }
                    MergedProgram.EnvValue replayedLoad = slice.replayedLoads().get(ie.rip());
                    // a replayed load reads neither its address nor memory
                    int[] in = replayedLoad != null && replayedLoad.uop() == u.index() ? new int[0] : uop.in();
                    for (int j = 0; j < in.length; j++) {
                        int loc = in[j];
                        if (loc < Loc.ARCH_COUNT && !written.get(loc) && !live.containsKey(loc)) {
                            live.put(loc, u.inputs()[j]);
                        }
                    }
                    for (int loc : extraUses(uop.kind())) {
                        if (!written.get(loc) && !live.containsKey(loc)) {
                            live.put(loc, startValue(trace, loc));
                        }
                    }
                    if (!kernelTouched && touchesKernelHalf(u)) {
                        // kernel-half loads go through the live guest's paging: its CR3 and CR4 are inputs
                        kernelTouched = true;
                        for (int loc : new int[]{Loc.CR3, Loc.CR4}) {
                            if (!written.get(loc) && !live.containsKey(loc)) {
                                live.put(loc, startValue(trace, loc));
                            }
                        }
                    }
                    for (int loc : uop.out()) {
                        if (loc < Loc.ARCH_COUNT) {
                            written.set(loc);
                        }
                    }
                    for (int loc : u.sideLocs()) {
                        written.set(loc);
                    }
                    for (MemoryAccess a : u.accesses()) {
                        if (Long.compareUnsigned(a.va(), MergedProgram.USER_HALF_END) >= 0) {
                            continue;
                        }
                        for (int b = 0; b < a.size(); b++) {
                            long va = a.va() + b;
                            if (a.write()) {
                                storedUser.add(va);
                            } else if (!storedUser.contains(va)) {
                                byte value = (byte) (a.value() >>> (8 * b));
                                Byte had = userBytes.putIfAbsent(va, value);
                                if (had != null && had != value && notes.size() < 100) {
                                    notes.add("user byte at 0x" + Long.toHexString(va) + " differs between traces (0x"
                                            + Integer.toHexString(had & 0xFF) + " kept, 0x"
                                            + Integer.toHexString(value & 0xFF) + " in " + trace.header().program()
                                            + " trace " + (liveIns.size() + 1) + ")");
                                }
                            }
                        }
                    }
                }
                previous = insn;
            }
            if (previous != null && trace.summary().reachedEnd()) {
                // the replay stops when RIP reaches END: that is the last instruction's successor
                previous.successors.add(trace.header().marks().markOut());
            }
            {
                // the output buffer's bytes a trace's window never stored (past a string's NUL; all of it when
                // the answer is empty) are the training process's as they were at START, which is what END shows
                // of them: embedded like its memory (the first trace that shows a byte so wins)
                TraceHeader.BufferSpec out = trace.header().expectedOutput();
                for (int i = 0; i < out.length(); i++) {
                    long va = out.va() + i;
                    if (Long.compareUnsigned(va, MergedProgram.USER_HALF_END) < 0 && !storedUser.contains(va)) {
                        userBytes.putIfAbsent(va, out.bytes()[i]);
                    }
                }
            }
            liveIns.add(live);
        }

        Insn insn(InstructionEvent ie) {
            Key key = new Key(ie.rip(), ie.bytes());
            Insn insn = insns.get(key);
            if (insn != null) {
                return insn;
            }
            Key other = byAddress.putIfAbsent(ie.rip(), key);
            if (other != null) {
                throw new MergeException("two different instructions at rip 0x" + Long.toHexString(ie.rip())
                        + " (self-modifying or patched code): not merged");
            }
            LiftedInstruction li = SystemMachine.lift(ie.bytes(), ie.rip(), features);
            boolean[] kept = new boolean[li.uops().size()];
            for (int i = 0; i < kept.length; i++) {
                kept[i] = slice.kept(ie.rip(), ie.bytes(), i);
            }
            insn = new Insn(key, li, kept, ie.cpl());
            insns.put(key, insn);
            return insn;
        }

        Merge finish(TraceHeader header, int traceCount) {
            if (entry == null) {
                throw new MergeException("the traces of " + header.program() + " hold no instructions");
            }
            List<Insn> sorted = new ArrayList<>(insns.values());
            sorted.sort((a, b) -> Long.compareUnsigned(a.key.address, b.key.address));
            List<ProgramInstruction> instructions = new ArrayList<>();
            List<ControlSite> controls = new ArrayList<>();
            Set<Long> leaders = new TreeSet<>();
            leaders.add(entry);
            long sites = 0;
            long keptSites = 0;
            int branches = 0;
            int guards = 0;
            int follows = 0;
            for (Insn insn : sorted) {
                int[] kept = keptIndices(insn.kept);
                sites += insn.kept.length;
                keptSites += kept.length;
                instructions.add(new ProgramInstruction(insn.key.address, insn.key.bytes, insn.cpl, kept));
                ControlKind kind = kind(insn.lifted);
                long next = insn.lifted.instruction().nextAddress();
                boolean plain = kind == null && (insn.successors.isEmpty() || insn.successors.equals(Set.of(next)));
                if (plain) {
                    continue;
                }
                long[] successors = insn.successors.stream().mapToLong(Long::longValue).toArray();
                ControlRole role;
                SliceInput.Decided decided = slice.decided(insn.key.address);
                MergedProgram.CallSummary summary = slice.summaries().get(insn.key.address);
                if (summary != null) {
                    role = ControlRole.SKIP;       // the summary stands for the callee
                    successors = new long[]{summary.returnAddress()};
                } else if (decided != null && decided.role() == ControlRole.SKIP) {
                    role = ControlRole.SKIP;
                    successors = new long[]{decided.target()};
                } else if (decided != null) {
                    role = decided.role();
                } else if (successors.length >= 2) {
                    role = ControlRole.BRANCH;
                    branches++;
                } else if (kind != null && kind != ControlKind.DIRECT && slice.guarded(insn.key.address)) {
                    role = ControlRole.GUARD;
                    guards++;
                } else {
                    role = ControlRole.FOLLOW;
                    follows++;
                }
                controls.add(new ControlSite(insn.key.address, kind == null ? ControlKind.DIRECT : kind, successors, role));
                for (long s : successors) {
                    leaders.add(s);
                }
            }
            int blocks = 0;
            for (long l : leaders) {
                if (byAddress.containsKey(l)) {
                    blocks++;
                }
            }
            Statistics stats = new Statistics(traceCount, executions, keptExecutions, sites, keptSites,
                    instructions.size(), blocks, branches, guards, follows);
            TraceHeader.BufferSpec in = header.input();
            return new Merge(new MergedProgram(MergedProgram.FORMAT_VERSION, header.program(),
                    header.guest().kernelTextSha256(), header.guest().kernelRelease(), features, slice.policy(),
                    entry, header.marks().markOut(), instructions, controls, classify(),
                    in.length() == 0 ? ProgramInput.NONE : new ProgramInput(in.va(), in.length()),
                    ranges(), new OutputSpec(outputKind(header.program())), stats,
                    environmentValues(), List.copyOf(frames.values()),
                    List.copyOf(slice.summaries().values()), runContext(header)), List.copyOf(notes));
        }

        /** The environment values of kept environment µops, and the replayed loads of allocation metadata. */
        List<MergedProgram.EnvValue> environmentValues() {
            TreeMap<Long, MergedProgram.EnvValue> all = new TreeMap<>(Long::compareUnsigned);
            all.putAll(environment);
            slice.replayedLoads().forEach(all::putIfAbsent);
            return List.copyOf(all.values());
        }

        long firstValue(int loc) {
            for (Map<Integer, Long> m : liveIns) {
                Long v = m.get(loc);
                if (v != null) {
                    return v;
                }
            }
            throw new IllegalStateException("no value of " + Loc.name(loc));
        }

        /**
         * CR3, GS base and kernel GS base always come from the VcpuState (they locate the running
         * process and the per-CPU data); a program entered in user mode takes its user register state
         * (GPRs, flags, RIP, FS base, selectors) from the first trace, like its embedded user memory
         * (stack addresses differ between runs); other locations are constants when equal in every
         * trace that reads them, else from the VcpuState.
         */
        List<LiveIn> classify() {
            TreeSet<Integer> locs = new TreeSet<>();
            liveIns.forEach(m -> locs.addAll(m.keySet()));
            List<LiveIn> out = new ArrayList<>();
            for (int loc : locs) {
                Set<Long> values = new HashSet<>();
                boolean everywhere = true;
                for (Map<Integer, Long> m : liveIns) {
                    Long v = m.get(loc);
                    if (v == null) {
                        everywhere = false;
                    } else {
                        values.add(v);
                    }
                }
                if (alwaysFromVcpu(loc)) {
                    out.add(new LiveIn.FromVcpu(loc, Registers.vcpuName(loc)));
                } else if (loc == Loc.SFMASK) {
                    // learned as the RFLAGS bits a syscall cleared, a subset of the mask in each trace: their union
                    out.add(new LiveIn.Constant(loc, values.stream().reduce(0L, (a, b) -> a | b)));
                } else if (values.size() == 1 && (everywhere || isMachineConstant(loc)) || userEntry && isUserState(loc)) {
                    // the user half is the training process's own (embedded): so is its user register state
                    out.add(new LiveIn.Constant(loc, firstValue(loc)));
                } else {
                    out.add(new LiveIn.FromVcpu(loc, Registers.vcpuName(loc)));
                }
            }
            return out;
        }

        List<MemoryRange> ranges() {
            List<MemoryRange> out = new ArrayList<>();
            long start = 0;
            java.io.ByteArrayOutputStream run = new java.io.ByteArrayOutputStream();
            long expected = Long.MIN_VALUE;
            for (Map.Entry<Long, Byte> e : userBytes.entrySet()) {
                if (e.getKey() != expected) {
                    if (run.size() > 0) {
                        out.add(new MemoryRange(start, run.toByteArray()));
                    }
                    run.reset();
                    start = e.getKey();
                }
                run.write(e.getValue());
                expected = e.getKey() + 1;
            }
            if (run.size() > 0) {
                out.add(new MemoryRange(start, run.toByteArray()));
            }
            return out;
        }
    }

    /**
     * CR3 and the GS bases name the running process and the per-CPU area: even when equal in every
     * training run they must come from the live vCPU.
     */
    private static boolean alwaysFromVcpu(int loc) {
        return loc == Loc.CR3 || loc == Loc.GS_BASE || loc == Loc.KERNEL_GS_BASE;
    }

    /**
     * Registers that hold the same value for the life of a boot (the syscall MSRs, control and
     * feature registers), learned in training and equal in every trace that read them: a run takes
     * them as constants even if some trace's path did not read them (HMP does not print STAR,
     * LSTAR or SFMASK, and a dump has no EFER).
     */
    private static boolean isMachineConstant(int loc) {
        return loc == Loc.STAR || loc == Loc.LSTAR || loc == Loc.CSTAR || loc == Loc.SFMASK || loc == Loc.EFER
                || loc == Loc.CR0 || loc == Loc.CR4 || loc == Loc.TSC_AUX;
    }

    private static boolean isUserState(int loc) {
        return loc < Loc.GPR0 + 16 || loc == Loc.RIP || Loc.isFlag(loc) || loc == Loc.FS_BASE
                || loc >= Loc.SEL0 && loc < Loc.SEL0 + 6;
    }

    /**
     * Locations the reference executor's system µops read beyond their operands (syscall: the
     * flags it saves and masks, STAR, LSTAR, SFMASK; sysret: rcx, r11, STAR; iret: rsp).
     */
    static int[] extraUses(UopKind kind) {
        return switch (kind) {
            case SYSCALL -> new int[]{Loc.STAR, Loc.LSTAR, Loc.SFMASK, Loc.CF, Loc.PF, Loc.AF, Loc.ZF, Loc.SF, Loc.OF,
                    Loc.DF, Loc.IF, Loc.TF, Loc.AC, Loc.NT, Loc.IOPL, Loc.RF, Loc.ID};
            case SYSRET -> new int[]{Loc.GPR0 + 1, Loc.GPR0 + 11, Loc.STAR};
            case IRET -> new int[]{Loc.GPR0 + 4};
            default -> new int[0];
        };
    }

    /**
     * The value a location had when the trace started; where a later value would be more exact it
     * is still the right classification input (equal in all traces or not).
     */
    private static long startValue(TraceReader trace, int loc) {
        long[] arch = trace.header().start().architectural();
        return loc < arch.length ? arch[loc] : 0;
    }

    private static boolean touchesKernelHalf(UopExecution u) {
        for (MemoryAccess a : u.accesses()) {
            if (Long.compareUnsigned(a.va(), MergedProgram.USER_HALF_END) >= 0) {
                return true;
            }
        }
        return false;
    }

    private static int[] keptIndices(boolean[] kept) {
        int n = 0;
        for (boolean k : kept) {
            n += k ? 1 : 0;
        }
        int[] out = new int[n];
        for (int i = 0, j = 0; i < kept.length; i++) {
            if (kept[i]) {
                out[j++] = i;
            }
        }
        return out;
    }

    /** The instruction's control kind from its µops (null: falls through). */
    static ControlKind kind(LiftedInstruction li) {
        ControlKind kind = null;
        for (Uop u : li.uops()) {
            ControlKind k = switch (u.kind()) {
                case BRANCH -> ControlKind.CONDITIONAL;
                case EXIT_IF -> ControlKind.REP_EXIT;
                case JUMP_IND -> ControlKind.INDIRECT_JUMP;
                case CALL_IND -> ControlKind.INDIRECT_CALL;
                case RET -> ControlKind.RETURN;
                case JUMP, CALL, SYSCALL, SYSRET, IRET, HLT, FAULT -> ControlKind.DIRECT;
                default -> null;
            };
            if (k != null && (kind == null || kind == ControlKind.DIRECT)) {
                kind = k;
            }
        }
        return kind;
    }

    static boolean isControl(UopKind k) {
        return k.has(UopKind.Flag.BLOCK_END) || k.has(UopKind.Flag.COND_BRANCH);
    }
}
