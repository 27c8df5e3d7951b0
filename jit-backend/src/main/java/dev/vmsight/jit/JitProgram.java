package dev.vmsight.jit;

import dev.vmsight.ir.uop.LiftedInstruction;
import dev.vmsight.ir.uop.Site;
import dev.vmsight.ir.uop.Uop;
import dev.vmsight.ir.uop.UopKind;
import dev.vmsight.merger.MergedProgram.SummaryKind;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the code generator compiles: instructions with the µops the slice kept, and for each
 * instruction how control leaves it. It is the JIT's view of a merged program (the merger's
 * MergedProgram is adapted to it), small enough to be built by hand in tests.
 *
 * <p>Execution starts at {@code entry} and ends when control reaches {@code end} (never fetched).
 * An instruction with a {@link FramePush} first pushes a frame (its return address and the current
 * values of its restored locations) on the run's frame stack; then it runs its kept µops in order;
 * then its {@link Control} picks the next instruction. A {@link Control.Return} pops the innermost
 * frame, writes its values back and continues at its return address, or ends the run when no
 * frame is open. The stack holds at most {@link #MAX_FRAME_DEPTH} frames: one more is a
 * {@link MonitorFault} ({@link MonitorFault.Kind#FRAME_DEPTH}) at the pushing instruction.
 * An instruction with a {@link Summary} (a call the run does not enter) runs no µops and pushes no
 * frame: it applies the summary and continues at its {@link Control.Fixed} return address.
 *
 * @param entry        address of the first instruction run
 * @param end          address whose reaching ends the run (the END mark)
 * @param instructions every instruction control can reach, each address once
 */
public record JitProgram(long entry, long end, List<Instruction> instructions) {
    /** Frames a run may hold open; pushing one more fails the run (never a JVM StackOverflowError). */
    public static final int MAX_FRAME_DEPTH = 4096;

    public JitProgram {
        instructions = List.copyOf(instructions);
        Map<Long, Instruction> byAddress = new LinkedHashMap<>();
        for (Instruction i : instructions) {
            if (byAddress.put(i.address(), i) != null) {
                throw new IllegalArgumentException("instruction 0x" + Long.toHexString(i.address()) + " listed twice");
            }
        }
        if (entry != end && !byAddress.containsKey(entry)) {
            throw new IllegalArgumentException("entry 0x" + Long.toHexString(entry) + " is not an instruction of the program");
        }
        for (Instruction i : instructions) {
            if (i.control() instanceof Control.Return) {
                continue;   // informational: the popped frame decides, checked at run time
            }
            for (long t : i.control().successors()) {
                if (t != end && !byAddress.containsKey(t)) {
                    throw new IllegalArgumentException("successor 0x" + Long.toHexString(t) + " of 0x"
                            + Long.toHexString(i.address()) + " is neither an instruction of the program nor its end");
                }
            }
        }
    }

    /**
     * The program of straight code found statically from {@code entry}: every µop kept, direct
     * successors only (branch targets, jump/call targets, rep exits, fall-through); a branch with
     * two successors is {@code Evaluated} (THROW), a single successor {@code Fixed}. For tests and
     * benchmarks over known code; trained programs come from the merger.
     *
     * @throws IllegalArgumentException at an indirect jump, call, return or system transfer (its
     *         targets need training), naming the instruction
     */
    public static JitProgram fromCode(dev.vmsight.ir.interp.CodeSource code, long entry, long end) {
        return fromCode(code, entry, end, Map.of());
    }

    /**
     * As {@link #fromCode(dev.vmsight.ir.interp.CodeSource, long, long)}, with the successors
     * training observed at indirect sites (returns, indirect jumps and calls): those become
     * {@code Evaluated} guards over the observed targets.
     */
    public static JitProgram fromCode(dev.vmsight.ir.interp.CodeSource code, long entry, long end,
                                      Map<Long, List<Long>> observedIndirect) {
        return fromCode(code, entry, end, observedIndirect::get);
    }

    /** As above, the observed targets of an indirect site given by a function (null: none observed). */
    public static JitProgram fromCode(dev.vmsight.ir.interp.CodeSource code, long entry, long end,
                                      java.util.function.Function<Long, List<Long>> observedIndirect) {
        java.util.TreeMap<Long, Instruction> found = new java.util.TreeMap<>(Long::compareUnsigned);
        java.util.ArrayDeque<Long> work = new java.util.ArrayDeque<>();
        work.add(entry);
        while (!work.isEmpty()) {
            long a = work.poll();
            if (a == end || found.containsKey(a)) {
                continue;
            }
            LiftedInstruction li = code.at(a);
            java.util.LinkedHashSet<Long> next = new java.util.LinkedHashSet<>();
            boolean falls = true;
            for (Uop u : li.uops()) {
                switch (u.kind()) {
                    case JUMP, CALL -> {
                        next.add(u.imm()[0]);
                        falls = false;
                    }
                    case BRANCH -> {
                        next.add(u.imm()[0]);
                        next.add(u.imm()[1]);
                        falls = false;
                    }
                    case EXIT_IF -> next.add(u.imm()[0]);
                    case JUMP_IND, CALL_IND, RET, SYSCALL, SYSRET, IRET, HLT -> {
                        List<Long> seen = observedIndirect.apply(a);
                        if (seen == null) {
                            throw new IllegalArgumentException("instruction " + li.instruction()
                                    + " transfers control indirectly: its targets need training");
                        }
                        next.addAll(seen);
                        falls = false;
                    }
                    default -> { }
                }
            }
            if (falls) {
                next.add(li.instruction().nextAddress());
            }
            List<Long> succ = List.copyOf(next);
            Control c = succ.size() == 1 ? new Control.Fixed(succ.get(0)) : new Control.Evaluated(succ, OnUnseen.THROW);
            found.put(a, Instruction.all(li, c));
            work.addAll(succ);
        }
        return new JitProgram(entry, end, List.copyOf(found.values()));
    }

    /**
     * SHA-256 of everything the generated code depends on (entry, end, each instruction's address,
     * bytes, µops, kept set, control, frame push and call summary): the bundle cache's program key.
     */
    public String digest() {
        try {
            java.security.MessageDigest md = java.security.MessageDigest.getInstance("SHA-256");
            java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
            java.io.DataOutputStream out = new java.io.DataOutputStream(buf);
            out.writeLong(entry);
            out.writeLong(end);
            for (Instruction i : instructions) {
                out.writeLong(i.address());
                out.write(i.lifted().instruction().bytes());
                out.writeUTF(i.lifted().uops().toString());
                out.write(i.kept.toByteArray());
                out.writeUTF(i.control().toString());
                out.writeBoolean(i.push() != null);
                if (i.push() != null) {
                    out.writeLong(i.push().returnAddress());
                    out.writeUTF(java.util.Arrays.toString(i.push().restoredLocs()));
                }
                out.writeBoolean(i.summary() != null);
                if (i.summary() != null) {
                    out.writeUTF(i.summary().kind().name());
                    out.writeLong(i.summary().value());
                    out.writeUTF(i.summary().image().toString());
                }
            }
            out.flush();
            return java.util.HexFormat.of().formatHex(md.digest(buf.toByteArray()));
        } catch (java.security.NoSuchAlgorithmException | java.io.IOException e) {
            throw new IllegalStateException("SHA-256 unavailable", e);
        }
    }

    /**
     * One instruction: its full lifting (µop indices name sites) and which µops the slice kept.
     *
     * @param lifted  the instruction and all of its µops, as SystemMachine.lift gives them
     * @param kept    indices of the µops to run
     * @param control how the next instruction is chosen
     * @param push    the frame pushed before the kept µops (a structured call), or null
     * @param summary what replaces the call at this instruction, or null; with a summary the
     *                instruction keeps no µops (the set given is dropped: the call is not run),
     *                pushes no frame and its control is {@link Control.Fixed} (the return address)
     */
    public record Instruction(LiftedInstruction lifted, BitSet kept, Control control, FramePush push, Summary summary) {
        public Instruction {
            kept = summary != null ? new BitSet() : (BitSet) kept.clone();
            String at = "instruction 0x" + Long.toHexString(lifted.instruction().address());
            if (kept.length() > lifted.uops().size()) {
                throw new IllegalArgumentException(at + " keeps µop " + (kept.length() - 1) + " of " + lifted.uops().size());
            }
            if (summary != null && push != null) {
                throw new IllegalArgumentException(at + " has a " + summary.kind() + " call summary and pushes a frame:"
                        + " a summarised call is not entered");
            }
            if (summary != null && !(control instanceof Control.Fixed)) {
                throw new IllegalArgumentException(at + " has a " + summary.kind() + " call summary, so its control must be"
                        + " Fixed(return address), not " + control);
            }
        }

        /** An instruction without a call summary. */
        public Instruction(LiftedInstruction lifted, BitSet kept, Control control, FramePush push) {
            this(lifted, kept, control, push, null);
        }

        /** An instruction that pushes no frame. */
        public Instruction(LiftedInstruction lifted, BitSet kept, Control control) {
            this(lifted, kept, control, null, null);
        }

        /** A summarised call at {@code lifted}: applies {@code summary}, then continues at {@code returnAddress}. */
        public static Instruction summarised(LiftedInstruction lifted, Summary summary, long returnAddress) {
            return new Instruction(lifted, new BitSet(), new Control.Fixed(returnAddress), null,
                    java.util.Objects.requireNonNull(summary, "summary"));
        }

        /** All µops kept. */
        public static Instruction all(LiftedInstruction lifted, Control control) {
            BitSet all = new BitSet();
            all.set(0, lifted.uops().size());
            return new Instruction(lifted, all, control);
        }

        public long address() { return lifted.instruction().address(); }

        @Override
        public BitSet kept() { return (BitSet) kept.clone(); }

        /** The kept µops with their indices, in order. */
        List<Map.Entry<Integer, Uop>> keptUops() {
            List<Map.Entry<Integer, Uop>> r = new ArrayList<>();
            for (int n = kept.nextSetBit(0); n >= 0; n = kept.nextSetBit(n + 1)) {
                r.add(Map.entry(n, lifted.uops().get(n)));
            }
            return r;
        }

        /** The site of the µop that decides control (the last kept control µop), or µop 0's when none. */
        Site controlSite() {
            int last = 0;
            for (var e : keptUops()) {
                UopKind k = e.getValue().kind();
                if (k.has(UopKind.Flag.BLOCK_END) || k.has(UopKind.Flag.COND_BRANCH)) {
                    last = e.getKey();
                }
            }
            return lifted.site(last);
        }
    }

    /**
     * A frame a structured call pushes: where the matching {@link Control.Return} continues, and
     * the locations (ir {@link dev.vmsight.ir.uop.Loc} indices; rsp and callee-saved registers)
     * whose values at the call it writes back.
     */
    public record FramePush(long returnAddress, int[] restoredLocs) {
        public FramePush {
            restoredLocs = restoredLocs.clone();
            java.util.Set<Integer> seen = new java.util.HashSet<>();
            for (int l : restoredLocs) {
                if (l < 0 || l >= dev.vmsight.ir.uop.Loc.COUNT || l == dev.vmsight.ir.uop.Loc.RIP) {
                    throw new IllegalArgumentException("a frame cannot restore location " + l
                            + " (return to 0x" + Long.toHexString(returnAddress) + ")");
                }
                if (!seen.add(l)) {
                    throw new IllegalArgumentException("a frame restores location " + dev.vmsight.ir.uop.Loc.name(l)
                            + " twice (return to 0x" + Long.toHexString(returnAddress) + ")");
                }
            }
        }

        @Override
        public int[] restoredLocs() { return restoredLocs.clone(); }

        @Override
        public boolean equals(Object o) {
            return o instanceof FramePush f && f.returnAddress == returnAddress
                    && java.util.Arrays.equals(f.restoredLocs, restoredLocs);
        }

        @Override
        public int hashCode() { return Long.hashCode(returnAddress) * 31 + java.util.Arrays.hashCode(restoredLocs); }

        @Override
        public String toString() {
            return "FramePush[returnAddress=0x" + Long.toHexString(returnAddress) + ", restoredLocs="
                    + java.util.Arrays.toString(restoredLocs) + "]";
        }
    }

    /**
     * A call the run does not enter (merger's {@code MergedProgram.CallSummary}): {@code RANDOM} sets
     * rax to {@code value} (what training saw returned), {@code ALLOCATE} sets rax to the run's next
     * arena slot ({@code MergedProgram.ARENA_BASE + i * ARENA_SLOT}, i counting this run's
     * allocations from 0), its first {@code value} bytes zero and {@code image}'s bytes stored,
     * {@code RELEASE} does nothing.
     */
    public record Summary(SummaryKind kind, long value, List<InitialValue> image) {
        public Summary {
            java.util.Objects.requireNonNull(kind, "kind");
            image = List.copyOf(image);
        }

        public Summary(SummaryKind kind, long value) {
            this(kind, value, List.of());
        }
    }

    /**
     * {@code size} bytes at {@code offset} from a fresh arena object hold {@code value}, or the
     * object's address plus {@code value} when {@code relative} (merger's {@code InitialValue}).
     */
    public record InitialValue(int offset, int size, long value, boolean relative) { }

    /** How control leaves an instruction. */
    public sealed interface Control {
        List<Long> successors();

        /** Always continue at {@code target} (one observed successor, not guarded; the kept µops' RIP is ignored). */
        record Fixed(long target) implements Control {
            @Override
            public List<Long> successors() { return List.of(target); }
        }

        /**
         * Continue where the kept control µops say (the fall-through address when none sets RIP); a
         * next address outside {@code expected} is an unseen path, handled per {@code onUnseen}.
         */
        record Evaluated(List<Long> expected, OnUnseen onUnseen) implements Control {
            public Evaluated {
                expected = List.copyOf(expected);
                if (expected.isEmpty()) {
                    throw new IllegalArgumentException("an evaluated control site needs at least one expected successor");
                }
            }

            @Override
            public List<Long> successors() { return expected; }
        }

        /**
         * Pop the innermost frame, write its values back and continue at its return address (END
         * when no frame is open). {@code observed} are the return addresses training saw: the
         * generated code jumps directly to those, any other goes through the dispatch by address
         * (an address outside the program is a {@link MonitorFault.Kind#OFF_PROGRAM} failure).
         */
        record Return(List<Long> observed) implements Control {
            public Return {
                observed = List.copyOf(observed);
            }

            @Override
            public List<Long> successors() { return observed; }
        }
    }

    /** What an evaluated control site does with a successor training never saw. */
    public enum OnUnseen {
        /** stop the run with {@link UnseenPath} naming the site (the default: never a silent wrong answer) */
        THROW,
        /** record the unseen target and continue at the first expected (trained) successor */
        REPORT_AND_FOLLOW
    }
}
