package dev.vmsight.jit;

import dev.vmsight.ir.decode.Decoder;
import dev.vmsight.ir.decode.Instruction;
import dev.vmsight.ir.interp.CpuFault;
import dev.vmsight.ir.interp.Environment;
import dev.vmsight.ir.interp.FaultHandler;
import dev.vmsight.ir.interp.Interpreter;
import dev.vmsight.ir.interp.MachineState;
import dev.vmsight.ir.interp.PagedMemory;
import dev.vmsight.ir.interp.SystemLayer;
import dev.vmsight.ir.uop.LiftedInstruction;
import dev.vmsight.ir.uop.Loc;
import dev.vmsight.ir.uop.Uop;
import dev.vmsight.ir.uop.UopKind;
import dev.vmsight.merger.MergedProgram;
import dev.vmsight.merger.MergedProgram.SummaryKind;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * Seeded random µop programs over random states and memory, and the oracle that runs them with
 * ir's Interpreter instruction by instruction, applying the same control rules as the JIT
 * (Fixed / Evaluated, THROW / REPORT_AND_FOLLOW, frame pushes and Return, call summaries and their arena). Instructions are one-byte nops at consecutive
 * addresses carrying arbitrary µops: the interpreter executes whatever µops a LiftedInstruction holds.
 */
final class RandomPrograms {
    static final long BASE = 0x40_1000L;
    /** Mapped linear pages: three consecutive user pages and one kernel-half page. */
    static final long[] PAGES = {0x7000_0000L, 0x7000_1000L, 0x7000_2000L, 0xFFFF_8880_0123_4000L};
    static final long UNMAPPED = 0x6000_0000L;

    private static final int[] GENERAL = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
            Loc.TEMP0, Loc.TEMP0 + 1, Loc.TEMP0 + 2, Loc.TEMP0 + 3, Loc.XMM0, Loc.XMM0 + 3};
    private static final int[] FLAGS = {Loc.CF, Loc.PF, Loc.AF, Loc.ZF, Loc.SF, Loc.OF, Loc.DF};
    private static final EnumSet<UopKind> FLAG_RESULTS = EnumSet.of(UopKind.ZERO, UopKind.SIGN, UopKind.PARITY,
            UopKind.AUX, UopKind.CARRY_ADD, UopKind.OVERFLOW_ADD, UopKind.BORROW_SUB, UopKind.OVERFLOW_SUB,
            UopKind.EQ, UopKind.BIT);
    private static final EnumSet<UopKind> CONTROL = EnumSet.of(UopKind.JUMP, UopKind.BRANCH, UopKind.EXIT_IF,
            UopKind.JUMP_IND, UopKind.CALL, UopKind.CALL_IND, UopKind.RET, UopKind.SYSCALL, UopKind.SYSRET,
            UopKind.IRET, UopKind.HLT, UopKind.FAULT);

    final Random rnd;
    /** No faults, guards or dropped µops: programs that run to their end (for size and speed tests). */
    private final boolean tame;

    RandomPrograms(long seed) { this(seed, false); }

    RandomPrograms(long seed, boolean tame) {
        this.rnd = new Random(seed);
        this.tame = tame;
    }

    record Case(JitProgram program, long[] state, Map<Long, byte[]> pages, Set<UopKind> kinds) { }

    /** A random program of {@code n} instructions with forward control only (so every run ends). */
    Case next(int n) {
        long end = BASE + n;
        List<JitProgram.Instruction> list = new ArrayList<>();
        Set<UopKind> kinds = EnumSet.noneOf(UopKind.class);
        for (int i = 0; i < n; i++) {
            long addr = BASE + i;
            Instruction x = Decoder.decode(new byte[]{(byte) 0x90}, addr);
            List<Uop> uops = new ArrayList<>();
            int count = 1 + rnd.nextInt(7);
            for (int u = 0; u < count; u++) {
                uops.add(dataUop(uops));
            }
            Set<Long> targets = new LinkedHashSet<>();
            targets.add(addr + 1);
            if (rnd.nextInt(3) > 0) {
                controlUops(uops, addr, end, targets);
            }
            LiftedInstruction li = new LiftedInstruction(x, uops);
            BitSet kept = new BitSet();
            for (int u = 0; u < uops.size(); u++) {
                if (tame || rnd.nextInt(10) < 9 || CONTROL.contains(uops.get(u).kind())) {
                    kept.set(u);
                    kinds.add(uops.get(u).kind());
                }
            }
            JitProgram.Control control;
            int pick = rnd.nextInt(10);
            List<Long> expected = new ArrayList<>(targets);
            if (pick == 0) {
                control = new JitProgram.Control.Fixed(expected.get(rnd.nextInt(expected.size())));
            } else if (!tame && pick == 1 && expected.size() > 1) {      // a guard: one successor unseen in training
                expected.remove(rnd.nextInt(expected.size()));
                control = new JitProgram.Control.Evaluated(expected, rnd.nextBoolean()
                        ? JitProgram.OnUnseen.THROW : JitProgram.OnUnseen.REPORT_AND_FOLLOW);
            } else {
                control = new JitProgram.Control.Evaluated(expected, JitProgram.OnUnseen.THROW);
            }
            list.add(new JitProgram.Instruction(li, kept, control));
        }
        return new Case(new JitProgram(BASE, end, list), randomState(), randomPages(), kinds);
    }

    /**
     * {@code c} with structured calls: about one instruction in four pushes a frame (a forward
     * return address, the end now and then, one outside the program rarely; 1 to 5 restored
     * locations, flags and temporaries included), about one in five becomes a Return whose observed
     * addresses are a random subset of the pushed ones (so both the direct jump and the dispatch by
     * address run). Runs may loop: the oracle's instruction cap decides.
     */
    Case withFrames(Case c) {
        JitProgram p = c.program();
        List<JitProgram.Instruction> pushed = new ArrayList<>();
        List<Long> returnAddresses = new ArrayList<>();
        for (JitProgram.Instruction in : p.instructions()) {
            JitProgram.FramePush push = null;
            if (rnd.nextInt(4) == 0) {
                long ret = rnd.nextInt(25) == 0 ? p.end() + 0x100 : forward(in.address(), p.end());
                Set<Integer> locs = new LinkedHashSet<>();
                for (int k = 1 + rnd.nextInt(5); k > 0; k--) {
                    locs.add(anyInput());
                }
                push = new JitProgram.FramePush(ret, locs.stream().mapToInt(Integer::intValue).toArray());
                returnAddresses.add(ret);
            }
            pushed.add(new JitProgram.Instruction(in.lifted(), in.kept(), in.control(), push));
        }
        List<JitProgram.Instruction> list = new ArrayList<>();
        for (JitProgram.Instruction in : pushed) {
            JitProgram.Control control = in.control();
            if (rnd.nextInt(5) == 0) {
                List<Long> observed = new ArrayList<>();
                for (long r : returnAddresses) {
                    if (rnd.nextBoolean()) {
                        observed.add(r);
                    }
                }
                if (rnd.nextInt(3) == 0) {
                    observed.add(p.end());
                }
                control = new JitProgram.Control.Return(observed.stream().distinct().toList());
            }
            list.add(new JitProgram.Instruction(in.lifted(), in.kept(), control, in.push()));
        }
        return new Case(new JitProgram(p.entry(), p.end(), list), c.state(), c.pages(), c.kinds());
    }

    /**
     * {@code c} with call summaries and arena memory: about one instruction in six becomes a
     * summarised call (RANDOM with a random value, ALLOCATE or RELEASE; its µops dropped, any frame
     * it pushed dropped, on at a forward address), and about one in four of the others first loads
     * or stores at an address in the first three arena slots (near a slot's start or across its
     * first page), so runs read arena bytes stored before, never stored, and half stored.
     */
    Case withSummaries(Case c) {
        JitProgram p = c.program();
        Set<UopKind> kinds = EnumSet.copyOf(c.kinds());
        List<JitProgram.Instruction> list = new ArrayList<>();
        for (JitProgram.Instruction in : p.instructions()) {
            if (rnd.nextInt(6) == 0) {
                SummaryKind kind = SummaryKind.values()[rnd.nextInt(SummaryKind.values().length)];
                // ALLOCATE's value is how many bytes of the object read as zero (a few, or none)
                long v = kind == SummaryKind.ALLOCATE ? (rnd.nextBoolean() ? rnd.nextInt(24) : 0) : value();
                list.add(JitProgram.Instruction.summarised(in.lifted(), new JitProgram.Summary(kind, v),
                        forward(in.address(), p.end())));
            } else if (rnd.nextInt(4) == 0) {
                long slot = Arena.slot(rnd.nextInt(3));
                long address = slot + (rnd.nextBoolean() ? rnd.nextInt(12) : 4096 - 1 - rnd.nextInt(8));
                int t = Loc.TEMP0 + 8;
                List<Uop> uops = new ArrayList<>();
                uops.add(new Uop(UopKind.CONST, 8, null, new int[]{t}, new int[0], new long[]{address}));
                uops.add(rnd.nextInt(3) == 0
                        ? new Uop(UopKind.LOAD, size(), null, new int[]{general()}, new int[]{t}, new long[0])
                        : new Uop(UopKind.STORE, size(), null, new int[0], new int[]{t, general()}, new long[0]));
                kinds.add(uops.get(1).kind());
                uops.addAll(in.lifted().uops());
                BitSet kept = new BitSet();
                kept.set(0, 2);
                BitSet old = in.kept();
                for (int n = old.nextSetBit(0); n >= 0; n = old.nextSetBit(n + 1)) {
                    kept.set(n + 2);
                }
                list.add(new JitProgram.Instruction(new LiftedInstruction(in.lifted().instruction(), uops), kept,
                        in.control(), in.push()));
            } else {
                list.add(in);
            }
        }
        return new Case(new JitProgram(p.entry(), p.end(), list), c.state(), c.pages(), kinds);
    }

    long[] randomState() {
        long[] s = new long[Loc.COUNT];
        for (int l = 0; l < Loc.COUNT; l++) {
            s[l] = value();
        }
        for (int f : Loc.FLAG_LOCS) {
            s[f] = rnd.nextInt(2);
        }
        s[Loc.IOPL] = rnd.nextInt(4);
        s[Loc.SEL0 + 1] = !tame && rnd.nextInt(8) == 0 ? 0x33 : 0x10;     // mostly CPL 0 (rdmsr and friends allowed)
        s[Loc.RIP] = BASE;
        return s;
    }

    Map<Long, byte[]> randomPages() {
        Map<Long, byte[]> pages = new LinkedHashMap<>();
        for (long p : PAGES) {
            byte[] b = new byte[4096];
            rnd.nextBytes(b);
            pages.put(p, b);
        }
        return pages;
    }

    long value() {
        return switch (rnd.nextInt(6)) {
            case 0 -> rnd.nextInt(5) - 2;
            case 1 -> rnd.nextInt(256);
            case 2 -> 1L << rnd.nextInt(64);
            case 3 -> rnd.nextBoolean() ? Long.MIN_VALUE : Long.MAX_VALUE;
            default -> rnd.nextLong();
        };
    }

    private int general() { return GENERAL[rnd.nextInt(GENERAL.length)]; }

    private int anyInput() { return rnd.nextInt(5) == 0 ? FLAGS[rnd.nextInt(FLAGS.length)] : general(); }

    private int size() { return new int[]{1, 2, 4, 8}[rnd.nextInt(4)]; }

    private static final UopKind[] DATA;
    static {
        List<UopKind> d = new ArrayList<>();
        for (UopKind k : UopKind.values()) {
            if (!CONTROL.contains(k)) {
                d.add(k);
            }
        }
        DATA = d.toArray(new UopKind[0]);
    }

    /** A non-control µop, with addresses for memory µops mostly inside the mapped pages. */
    private Uop dataUop(List<Uop> before) {
        UopKind k = DATA[rnd.nextInt(DATA.length)];
        while (tame && (k == UopKind.DIVU || k == UopKind.DIVS)) {
            k = DATA[rnd.nextInt(DATA.length)];
        }
        int size = size();
        int[] out = new int[k.outputs()];
        int[] in = new int[k.inputs()];
        long[] imm = new long[k.immediates()];
        for (int n = 0; n < out.length; n++) {
            out[n] = FLAG_RESULTS.contains(k) && rnd.nextBoolean() ? FLAGS[rnd.nextInt(FLAGS.length)] : general();
        }
        for (int n = 0; n < in.length; n++) {
            in[n] = anyInput();
        }
        for (int n = 0; n < imm.length; n++) {
            imm[n] = value();
        }
        switch (k) {
            case MERGE, EXTRACT -> imm[0] = new int[]{0, 8, 16, 32}[rnd.nextInt(4)] % (64 - 8 * Math.min(size, 4) + 1);
            case LOAD, STORE, SYSTEM_OP, INVLPG -> {
                int t = Loc.TEMP0 + 4;
                in[0] = t;
                before.add(new Uop(UopKind.CONST, 8, null, new int[]{t}, new int[0], new long[]{address()}));
            }
            case RDMSR, WRMSR -> {
                int t = Loc.TEMP0 + 5;
                in[0] = t;
                long msr = rnd.nextBoolean() ? 0xC000_0082L : 0x1BL;
                before.add(new Uop(UopKind.CONST, 8, null, new int[]{t}, new int[0], new long[]{msr}));
            }
            case SYSREG_WRITE -> out[0] = rnd.nextBoolean() ? Loc.CR2 : Loc.CR8;
            case FENCE -> imm[0] = 0;
            default -> { }
        }
        return new Uop(k, size, null, out, in, imm);
    }

    private long address() {
        if (!tame && rnd.nextInt(40) == 0) {
            return UNMAPPED + rnd.nextInt(4096);
        }
        long page = PAGES[rnd.nextInt(PAGES.length)];
        int off = rnd.nextInt(4) == 0 ? 4096 - 1 - rnd.nextInt(8) : rnd.nextInt(4096);   // page-crossing now and then
        return page + off;
    }

    /** Appends control µops (forward targets); adds every successor they can produce to {@code targets}. */
    private void controlUops(List<Uop> uops, long addr, long end, Set<Long> targets) {
        long t1 = forward(addr, end);
        long t2 = forward(addr, end);
        int cond = rnd.nextBoolean() ? FLAGS[rnd.nextInt(FLAGS.length)] : general();
        int t = Loc.TEMP0 + 6;
        switch (rnd.nextInt(tame ? 8 : 9)) {
            case 0 -> uops.add(new Uop(UopKind.JUMP, 8, null, new int[0], new int[0], new long[]{t1}));
            case 1 -> uops.add(new Uop(UopKind.CALL, 8, null, new int[0], new int[0], new long[]{t1}));
            case 2 -> uops.add(new Uop(UopKind.BRANCH, 8, null, new int[0], new int[]{cond}, new long[]{t1, t2}));
            case 3 -> {
                uops.add(0, new Uop(UopKind.EXIT_IF, 8, null, new int[0], new int[]{cond}, new long[]{t1}));
                targets.add(t1);
                return;
            }
            case 4, 5, 6 -> {
                int c1 = Loc.TEMP0 + 7;
                uops.add(new Uop(UopKind.CONST, 8, null, new int[]{t}, new int[0], new long[]{t1}));
                uops.add(new Uop(UopKind.CONST, 8, null, new int[]{c1}, new int[0], new long[]{t2}));
                uops.add(new Uop(UopKind.SELECT, 8, null, new int[]{t}, new int[]{cond, t, c1}, new long[0]));
                UopKind k = new UopKind[]{UopKind.JUMP_IND, UopKind.CALL_IND, UopKind.RET}[rnd.nextInt(3)];
                uops.add(new Uop(k, 8, null, new int[0], new int[]{t}, new long[0]));
            }
            case 7 -> {
                UopKind k = new UopKind[]{UopKind.SYSCALL, UopKind.SYSRET, UopKind.IRET, UopKind.HLT}[rnd.nextInt(4)];
                uops.add(new Uop(k, 8, null, new int[0], new int[0], new long[k.immediates()]));
                return;       // the test system layer continues at the next instruction
            }
            default -> {
                uops.add(new Uop(UopKind.FAULT, 8, null, new int[0], new int[0], new long[]{6, 0}));
                return;
            }
        }
        targets.add(t1);
        targets.add(t2);
    }

    private long forward(long addr, long end) {
        long span = end - addr;
        return addr + 1 + rnd.nextInt((int) (rnd.nextInt(5) == 0 ? span : Math.min(span, 6)));
    }

    // ---- the oracle

    /** Deterministic environment: the same sequence for the interpreter and the JIT. */
    static final class TestEnv implements Environment {
        private long tsc = 1000;

        @Override public long rdtsc() { return tsc += 7; }

        @Override public long[] cpuid(long leaf, long subleaf) { return new long[]{leaf * 3, subleaf + 1, leaf ^ subleaf, 0xFFFF_FFFF_FFFFL}; }

        @Override public long rdmsr(long msr) { return msr * 31; }

        @Override public long portIn(long port, int size) { return port * 5 + size; }

        @Override public long rdrand(int size) { return tsc += 13; }

        @Override public long rdpkru() { return tsc += 17; }
    }

    /** A deterministic system layer: instruction-ending µops continue at the next instruction. */
    static final SystemLayer TEST_SYSTEM = (uop, inputs, state, memory) -> {
        switch (uop.kind()) {
            case SYSCALL, SYSRET, IRET, HLT -> {
                state.setGpr(1, state.rip() + uop.kind().ordinal());
                state.setRip(state.rip() + 1);
            }
            case SYSTEM_OP -> state.setGpr(3, memory.read(inputs[0], 8));
            case PORT_OUT, WRMSR -> state.setGpr(2, inputs[0] ^ inputs[1]);
            case INVLPG -> state.setGpr(2, inputs[0] + 1);
            default -> state.setGpr(2, 77);
        }
    };

    /** What the oracle says a run should end with. */
    sealed interface Expected {
        record Done(long[] state, Map<Long, byte[]> pages, int reports) implements Expected { }
        record Unseen(long site, long observed) implements Expected { }
        record Fault(long site) implements Expected { }
    }

    static Expected oracle(Case c) {
        return oracle(c.program(), c.state(), c.pages(), new TestEnv(), TEST_SYSTEM, Long.MAX_VALUE);
    }

    /**
     * Runs {@code program} with the interpreter one instruction at a time, applying the JIT's control
     * rules; any exception of an instruction (a CpuFault, or a refusal of the environment or system
     * layer) is a fault there. Returns null after {@code maxInstructions} without reaching the end.
     */
    static Expected oracle(JitProgram program, long[] state, Map<Long, byte[]> initialPages, Environment env,
                           SystemLayer system, long maxInstructions) {
        PagedMemory paged = new PagedMemory();
        initialPages.forEach((p, b) -> paged.load(p, b.clone()));
        ArenaMemory mem = new ArenaMemory(paged);
        long allocations = 0;
        MachineState ms = new MachineState();
        for (int l = 0; l < Loc.COUNT; l++) {
            ms.set(l, state[l]);
        }
        Interpreter interp = new Interpreter(mem, a -> { throw new IllegalStateException("fetch"); }, env, system,
                FaultHandler.RETHROW);
        Map<Long, JitProgram.Instruction> byAddress = new LinkedHashMap<>();
        for (JitProgram.Instruction in : program.instructions()) {
            byAddress.put(in.address(), in);
        }
        long cur = program.entry();
        int reports = 0;
        // the frame stack: pushed before an instruction's µops, popped by a Return
        java.util.ArrayDeque<Map.Entry<JitProgram.FramePush, long[]>> frames = new java.util.ArrayDeque<>();
        for (long n = 0; cur != program.end(); n++) {
            if (n >= maxInstructions) {
                return null;
            }
            JitProgram.Instruction in = byAddress.get(cur);
            if (in.summary() != null) {     // a call not entered: no µops, no frame
                switch (in.summary().kind()) {
                    case RANDOM -> ms.set(Loc.GPR0, in.summary().value());
                    case ALLOCATE -> {
                        long object = MergedProgram.ARENA_BASE + MergedProgram.ARENA_SLOT * allocations++;
                        for (long k = 0; k < in.summary().value(); k++) {
                            mem.write(object + k, 1, 0);
                        }
                        ms.set(Loc.GPR0, object);
                    }
                    case RELEASE -> { }
                }
                cur = ((JitProgram.Control.Fixed) in.control()).target();
                continue;
            }
            if (in.push() != null) {
                if (frames.size() == JitProgram.MAX_FRAME_DEPTH) {
                    return new Expected.Fault(cur);
                }
                int[] locs = in.push().restoredLocs();
                long[] values = new long[locs.length];
                for (int k = 0; k < locs.length; k++) {
                    values[k] = ms.get(locs[k]);
                }
                frames.push(Map.entry(in.push(), values));
            }
            List<Uop> kept = new ArrayList<>();
            for (var e : in.keptUops()) {
                kept.add(e.getValue());
            }
            ms.setRip(cur);
            try {
                interp.execute(new LiftedInstruction(in.lifted().instruction(), kept), ms);
            } catch (RuntimeException f) {
                return new Expected.Fault(cur);
            }
            long next = ms.rip();
            if (in.control() instanceof JitProgram.Control.Fixed f) {
                cur = f.target();
            } else if (in.control() instanceof JitProgram.Control.Evaluated ev) {
                if (ev.expected().contains(next)) {
                    cur = next;
                } else if (ev.onUnseen() == JitProgram.OnUnseen.THROW) {
                    return new Expected.Unseen(in.address(), next);
                } else {
                    reports++;
                    cur = ev.expected().get(0);
                }
            } else if (in.control() instanceof JitProgram.Control.Return) {
                if (frames.isEmpty()) {
                    cur = program.end();
                } else {
                    var f = frames.pop();
                    int[] locs = f.getKey().restoredLocs();
                    for (int k = 0; k < locs.length; k++) {
                        ms.set(locs[k], f.getValue()[k]);
                    }
                    cur = f.getKey().returnAddress();
                    if (cur != program.end() && !byAddress.containsKey(cur)) {
                        return new Expected.Fault(in.address());
                    }
                }
            }
        }
        ms.setRip(cur);
        long[] s = new long[Loc.COUNT];
        for (int l = 0; l < Loc.COUNT; l++) {
            s[l] = ms.get(l);
        }
        Map<Long, byte[]> pages = new LinkedHashMap<>();
        for (long p : initialPages.keySet()) {
            byte[] b = new byte[4096];
            for (int i = 0; i < 4096; i++) {
                b[i] = (byte) mem.read(p + i, 1);
            }
            pages.put(p, b);
        }
        return new Expected.Done(s, pages, reports);
    }

    /**
     * The oracle's arena, written independently of the JIT's: a map of the bytes the run stored at
     * arena addresses; reading one never stored throws. Everything else is the paged memory.
     */
    private static final class ArenaMemory implements dev.vmsight.ir.interp.Memory {
        private final PagedMemory rest;
        private final Map<Long, Byte> stored = new java.util.HashMap<>();

        ArenaMemory(PagedMemory rest) { this.rest = rest; }

        private static boolean arena(long va) {
            return Long.compareUnsigned(va - MergedProgram.ARENA_BASE, 1L << 40) < 0;
        }

        @Override
        public long read(long va, int size) {
            if (!arena(va) && !arena(va + size - 1)) {
                return rest.read(va, size);
            }
            long v = 0;
            for (int i = 0; i < size; i++) {
                long a = va + i;
                long b;
                if (arena(a)) {
                    Byte x = stored.get(a);
                    if (x == null) {
                        throw new IllegalStateException("arena byte 0x" + Long.toHexString(a) + " never stored");
                    }
                    b = x & 0xFF;
                } else {
                    b = rest.read(a, 1);
                }
                v |= b << (8 * i);
            }
            return v;
        }

        @Override
        public void write(long va, int size, long value) {
            if (!arena(va) && !arena(va + size - 1)) {
                rest.write(va, size, value);
                return;
            }
            for (int i = 0; i < size; i++) {
                long a = va + i;
                if (arena(a)) {
                    stored.put(a, (byte) (value >>> (8 * i)));
                } else {
                    rest.write(a, 1, value >>> (8 * i));
                }
            }
        }
    }

    /** The same pages as a read-only page source (a write to the base would throw ReadOnlyBufferException). */
    static PageSource source(Map<Long, byte[]> pages) {
        return pageAddress -> {
            byte[] b = pages.get(pageAddress);
            if (b == null) {
                throw new IllegalArgumentException("page 0x" + Long.toHexString(pageAddress) + " is not mapped");
            }
            return ByteBuffer.wrap(b).asReadOnlyBuffer();
        };
    }

    /** Reads a page as the monitor's memory sees it after a run (overlay first). */
    static byte[] pageAfter(MonitorMemory mem, long page) {
        byte[] b = new byte[4096];
        for (int i = 0; i < 4096; i += 8) {
            long v = mem.read(page + i, 8);
            for (int j = 0; j < 8; j++) {
                b[i + j] = (byte) (v >>> (8 * j));
            }
        }
        return b;
    }
}
