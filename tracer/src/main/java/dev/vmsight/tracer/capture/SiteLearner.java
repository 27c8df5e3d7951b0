package dev.vmsight.tracer.capture;

import dev.vmsight.guests.gdb.GdbClient;
import dev.vmsight.guests.gdb.GdbException;
import dev.vmsight.guests.gdb.X86Registers;
import dev.vmsight.ir.interp.Environment;
import dev.vmsight.ir.interp.MachineState;
import dev.vmsight.ir.sys.CpuFeatures;
import dev.vmsight.ir.sys.PhysMem;
import dev.vmsight.ir.sys.SystemMachine;
import dev.vmsight.ir.sys.SystemTables;
import dev.vmsight.ir.uop.Loc;
import dev.vmsight.tracer.lockstep.LearnedValue;
import dev.vmsight.tracer.lockstep.LockstepSession;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Learns from QEMU, after the lockstep prefix, the values the replay needs up to END, at QEMU's
 * full speed instead of single-stepping (≈500 steps/s; pslist's window is ≈250k instructions).
 *
 * <ol>
 *   <li><b>Sites.</b> A probe (the interpreter on a copy-on-write of the START RAM; not the trace)
 *       runs START..END and notes every instruction address where it needed a value from outside
 *       the machine (rdtsc, cpuid, rdmsr, in) or a syscall MSR not yet known (syscall, sysretq).
 *       Values it does not know yet are provisional (the last one learned, or 0) only so that it
 *       can go on; none of them reaches a trace.</li>
 *   <li><b>QEMU.</b> Hardware breakpoints at those addresses and at END; QEMU continues from where
 *       the prefix left it; at each stop in the trainer's address space it single-steps that
 *       instruction and reads the value from its registers (rdx:rax, eax..edx; for syscall and
 *       sysretq the MSRs as the lockstep oracle does), in QEMU's order, until END.</li>
 *   <li><b>Assignment.</b> The probe runs again; each execution of a site takes, among QEMU's
 *       hits there not yet passed (values stay in QEMU's order), the first with all 16 general
 *       registers equal to the probe's (the same dynamic instruction), else the first with the
 *       same stack pointer, else the next one ({@link #matches()} counts each kind). This fixes
 *       every value to a step ({@link LearnedValue}), which is what the replay's recorded
 *       environment is keyed by.</li>
 * </ol>
 *
 * <p>What this does and does not promise: every value is QEMU's own, read at the same instruction
 * in the trainer's address space, in QEMU's order. QEMU runs with interrupts between START and END
 * (the replay has none): an interrupt can execute a site too (every exit to user mode runs an
 * rdtsc for the kernel stack offset), or change a path (an allocator cache refilled by a softirq),
 * so not every execution in the replay has its exact twin in QEMU. Values are then QEMU's, but from
 * a neighbouring execution of the same instruction; the context records how many were matched
 * exactly, by stack pointer, or by order, and the sites QEMU ran more or less often than the replay. If such a difference changes what the trainer computes, the
 * fidelity check rejects the trace. A site the replay needs more values at than QEMU produced is
 * an {@link OffPath} run: traced again.
 */
final class SiteLearner {
    private static final long RF = 1L << 16;

    private final GdbClient gdb;
    private final long markOut;
    private final long cr3Root;
    /**
     * Page-table roots the replay runs the window with: the trainer's, and with page-table
     * isolation (Intel models) its kernel half too, which the entry code switches to. QEMU's stops
     * count in these address spaces only.
     */
    private final Set<Long> roots = new java.util.HashSet<>();
    private final CopiedRam ram;
    private final X86Registers start;
    private final SystemTables tables;
    private final CpuFeatures features;
    private final List<LearnedValue> prefixValues;
    private final long prefixSteps;
    private final Map<Integer, Long> locations;
    /** Site address → what it is (RDTSC, CPUID, RDMSR, PORT_IN, SYSCALL, SYSRETQ). */
    private final Map<Long, String> sites = new LinkedHashMap<>();
    /** Site address → QEMU's values there, in QEMU's order (MSR sites: none, they set {@link #locations}). */
    private final Map<Long, List<Hit>> qemuValues = new HashMap<>();
    private final List<String> lines = new ArrayList<>();
    private List<LearnedValue> assigned = List.of();
    private long probeSteps;
    private int unevenSites;
    private final int[] matches = new int[3];

    /** One stop of QEMU at a site: the value it produced and its general registers before the instruction. */
    private record Hit(long[] values, long[] gprs) { }

    /** QEMU's execution did not give a value the replay needs (it ran a site fewer times): this run cannot be completed. */
    static final class OffPath extends RuntimeException {
        OffPath(String message, Throwable cause) { super(message, cause); }
    }

    SiteLearner(GdbClient gdb, long markOut, CopiedRam ram, X86Registers start, SystemTables tables, CpuFeatures features,
                List<LearnedValue> prefixValues, Map<Integer, Long> prefixLocations, long prefixSteps) {
        this.gdb = gdb;
        this.markOut = markOut;
        this.cr3Root = start.pageTableRoot();
        this.ram = ram;
        this.start = start;
        this.tables = tables;
        this.features = features;
        this.prefixValues = List.copyOf(prefixValues);
        this.prefixSteps = prefixSteps;
        this.locations = new LinkedHashMap<>(prefixLocations);
    }

    /** Learns every value up to END; QEMU is left stopped at END. */
    X86Registers run(long maxInstructions, double maxSeconds, Set<Long> extraSites) {
        Probe discovery = new Probe(null);
        discovery.run(maxInstructions);
        extraSites.forEach(a -> sites.putIfAbsent(a, "RDTSC"));
        X86Registers end = runQemu(Duration.ofMillis((long) (maxSeconds * 1000)));
        Probe assignment = new Probe(qemuValues);
        assignment.run(maxInstructions);
        assigned = assignment.assigned;
        probeSteps = assignment.step;
        for (Long site : sites.keySet()) {
            int used = assignment.calls.getOrDefault(site, 0), given = qemuValues.getOrDefault(site, List.of()).size();
            if (used != given && !sites.get(site).startsWith("SYS")) {
                unevenSites++;
                lines.add(String.format("site 0x%x (%s): QEMU executed it %d times in the trainer, the replay %d", site,
                        sites.get(site), given, used));
            }
        }
        return end;
    }

    /** Values assigned to steps after the prefix, in step order. */
    List<LearnedValue> learned() { return assigned; }

    Map<Integer, Long> learnedLocations() { return Map.copyOf(locations); }

    List<String> lines() { return List.copyOf(lines); }

    int sites() { return sites.size(); }

    /** Sites QEMU executed a different number of times than the replay (interrupts; see the class comment). */
    int unevenSites() { return unevenSites; }

    /** The probe's steps START..END (= the replay's instruction count). */
    long probeSteps() { return probeSteps; }

    // ---- QEMU

    /** QEMU from the prefix to END, stepping each site; {@code budget} is the run's seconds budget. */
    private X86Registers runQemu(Duration budget) {
        Set<Long> inserted = new LinkedHashSet<>();
        try {
            for (Long site : sites.keySet()) {
                gdb.insertHardwareBreakpoint(site);
                inserted.add(site);
            }
            long deadline = System.nanoTime() + budget.toNanos();
            int stops = 0;
            while (true) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new TraceBudgetException(String.format("did not reach END (vmsight_mark_out at 0x%x) within %.1f s in "
                            + "QEMU (%d stops at %d value sites on the way)", markOut, budget.toMillis() / 1000.0, stops, sites.size()));
                }
                try {
                    gdb.cont(Duration.ofNanos(left));
                } catch (dev.vmsight.guests.gdb.GdbTimeoutException e) {
                    throw new TraceBudgetException(String.format("did not reach END (vmsight_mark_out at 0x%x) within %.1f s in "
                            + "QEMU (%d stops at %d value sites on the way)", markOut, budget.toMillis() / 1000.0, stops, sites.size()), e);
                }
                X86Registers r = gdb.readRegisters();
                if (!roots.contains(r.pageTableRoot())) {
                    continue;
                }
                if (r.rip() == markOut) {
                    lines.add(String.format("QEMU: %d stops at %d sites between the prefix and END", stops, sites.size()));
                    return r;
                }
                String kind = sites.get(r.rip());
                if (kind == null) {
                    continue;
                }
                stops++;
                gdb.removeHardwareBreakpoint(r.rip());
                gdb.step();
                gdb.insertHardwareBreakpoint(r.rip());
                X86Registers after = gdb.readRegisters();
                record(kind, r, after);
            }
        } catch (GdbException e) {
            throw new OffPath("QEMU could not be run to END through the value sites: " + e.getMessage(), e);
        } finally {
            for (Long site : inserted) {
                try {
                    gdb.removeHardwareBreakpoint(site);
                } catch (GdbException ignored) {
                    // the stub is gone: the error above says why
                }
            }
        }
    }

    private void record(String kind, X86Registers before, X86Registers after) {
        long rip = before.rip();
        switch (kind) {
            case "SYSCALL" -> {
                if (!locations.containsKey(Loc.LSTAR)) {
                    long flags = before.eflags() & 0xFFFF_FFFFL & ~RF, post = after.eflags() & 0xFFFF_FFFFL;
                    locations.put(Loc.LSTAR, after.rip());
                    locations.put(Loc.SFMASK, flags & ~post);
                    locations.put(Loc.STAR, locations.getOrDefault(Loc.STAR, 0L) & ~(0xFFFFL << 32) | (after.cs() & 0xFFFFL) << 32);
                    lines.add(String.format("QEMU at syscall 0x%x: LSTAR = 0x%x, SFMASK = 0x%x, STAR[47:32] = 0x%x", rip,
                            after.rip(), flags & ~post, after.cs() & 0xFFFF));
                }
            }
            case "SYSRETQ" -> {
                long star = locations.getOrDefault(Loc.STAR, 0L);
                if (star >>> 48 == 0) {
                    locations.put(Loc.STAR, star & ~(0xFFFFL << 48) | ((after.cs() & 0xFFFFL) - 16 & 0xFFFF) << 48);
                    lines.add(String.format("QEMU at sysretq 0x%x: STAR[63:48] = 0x%x", rip, (after.cs() & 0xFFFF) - 16));
                }
            }
            case "RDTSC", "RDMSR" -> hit(rip, before, new long[]{after.rdx() << 32 | after.rax() & 0xFFFF_FFFFL});
            case "CPUID" -> hit(rip, before, new long[]{after.rax() & 0xFFFF_FFFFL,
                    after.rbx() & 0xFFFF_FFFFL, after.rcx() & 0xFFFF_FFFFL, after.rdx() & 0xFFFF_FFFFL});
            case "PORT_IN" -> hit(rip, before, new long[]{after.rax()});
            case "RDPKRU" -> hit(rip, before, new long[]{after.rax() & 0xFFFF_FFFFL});
            default -> throw new IllegalStateException("no way to read a " + kind + " value from QEMU at 0x" + Long.toHexString(rip));
        }
    }

    private void hit(long rip, X86Registers r, long[] values) {
        long[] gprs = {r.rax(), r.rcx(), r.rdx(), r.rbx(), r.rsp(), r.rbp(), r.rsi(), r.rdi(),
                r.r8(), r.r9(), r.r10(), r.r11(), r.r12(), r.r13(), r.r14(), r.r15()};
        qemuValues.computeIfAbsent(rip, a -> new ArrayList<>()).add(new Hit(values, gprs));
    }

    /** How the replay's executions of sites were matched to QEMU's: same registers, same stack pointer, next in order. */
    int[] matches() { return matches.clone(); }

    // ---- the probe

    /**
     * The interpreter from START to END. Without {@code given} it discovers sites (provisional
     * values); with it, it takes QEMU's values per site in order and records the step of each.
     */
    private final class Probe implements Environment {
        private final Map<Long, List<Hit>> given;
        private final Map<Long, ArrayDeque<LearnedValue>> prefixByStep = new HashMap<>();
        /** Per site: QEMU's hits consumed so far (the index after the last one taken). */
        final Map<Long, Integer> used = new HashMap<>();
        /** Per site: how often the replay executed it. */
        final Map<Long, Integer> calls = new HashMap<>();
        final List<LearnedValue> assigned = new ArrayList<>();
        private final MachineState state = LockstepSession.load(start);
        private final SystemMachine machine;
        private long step;
        private long lastTsc;
        private long lastRoot = -1;

        Probe(Map<Long, List<Hit>> given) {
            this.given = given;
            locations.forEach(state::set);
            for (LearnedValue v : prefixValues) {
                prefixByStep.computeIfAbsent(v.step(), s -> new ArrayDeque<>()).add(v);
            }
            machine = new SystemMachine(state, PhysMem.copyOnWrite(ram), this, tables);
            machine.setBitCountFeatures(features.bmi1(), features.lzcnt());
        }

        void run(long maxInstructions) {
            while (!(state.rip() == markOut && (state.get(Loc.CR3) & X86Registers.CR3_ROOT_MASK) == cr3Root)) {
                if (step >= maxInstructions) {
                    throw new TraceBudgetException(String.format("did not reach END within %,d instructions (the interpreter was "
                            + "at rip 0x%x, cpl %d)", maxInstructions, state.rip(), state.cpl()));
                }
                step++;
                if (step > prefixSteps) {
                    noteSyscallSites();
                }
                long root = state.get(Loc.CR3) & X86Registers.CR3_ROOT_MASK;
                if (root != lastRoot) {     // CR3 changes a few times per window; the set is not touched per step
                    roots.add(root);
                    lastRoot = root;
                }
                machine.step();
            }
        }

        /** syscall / sysretq while the MSRs they use are unknown: sites whose QEMU step gives the MSRs. */
        private void noteSyscallSites() {
            int b0 = peek(state.rip()), b1 = peek(state.rip() + 1), b2 = peek(state.rip() + 2);
            if (b0 == 0x0f && b1 == 0x05 && !locations.containsKey(Loc.LSTAR)) {
                need("SYSCALL");
                if (given != null) {
                    throw new OffPath("QEMU never executed the syscall at 0x" + Long.toHexString(state.rip()) + " in the trainer", null);
                }
            } else if (b0 == 0x48 && b1 == 0x0f && b2 == 0x07 && state.get(Loc.STAR) >>> 48 == 0) {
                need("SYSRETQ");
                if (given != null) {
                    throw new OffPath("QEMU never executed the sysretq at 0x" + Long.toHexString(state.rip()) + " in the trainer", null);
                }
                // provisional, discovery only: Linux's value, so the probe returns to user mode and goes on
                state.set(Loc.STAR, state.get(Loc.STAR) | 0x23L << 48);
            }
        }

        private void need(String kind) {
            sites.putIfAbsent(state.rip(), kind);
        }

        private long[] value(String kind, long[] args, long[] provisional) {
            if (step <= prefixSteps) {
                ArrayDeque<LearnedValue> q = prefixByStep.get(step);
                if (q != null && !q.isEmpty() && q.peekFirst().kind().equals(kind)) {
                    return q.removeFirst().values();
                }
                // the probe left the path the lockstep prefix took (QEMU took an interrupt there): like
                // QEMU leaving the replay's path, a new run of the trainer is traced
                throw new OffPath("the lockstep prefix passed step " + step + " without learning its " + kind, null);
            }
            long rip = state.rip();
            if (given == null) {
                need(kind);
                return provisional;
            }
            calls.merge(rip, 1, Integer::sum);
            List<Hit> hits = given.getOrDefault(rip, List.of());
            int from = used.getOrDefault(rip, 0);   // QEMU's hits before it are taken: values stay in QEMU's order
            int j = choose(hits, from);
            if (j < 0) {
                throw new OffPath(String.format("the replay executes %s at 0x%x (step %,d) more often than QEMU did in the trainer "
                        + "(%d times)", kind, rip, step, hits.size()), null);
            }
            used.put(rip, j + 1);
            long[] v = hits.get(j).values();
            if (kind.equals("PORT_IN")) {
                v = new long[]{args[1] == 8 ? v[0] : v[0] & ((1L << (8 * args[1])) - 1)};
            }
            assigned.add(new LearnedValue(step, rip, kind, args, v));
            return v;
        }

        /**
         * The first of QEMU's remaining hits with all 16 general registers equal to the probe's (the
         * same dynamic instruction), else the first with the same stack pointer (same call depth),
         * else simply the next one; -1 when none is left.
         */
        private int choose(List<Hit> hits, int from) {
            if (from >= hits.size()) {
                return -1;
            }
            long[] mine = new long[16];
            for (int i = 0; i < 16; i++) {
                mine[i] = state.gpr(i);
            }
            for (int j = from; j < hits.size(); j++) {
                if (java.util.Arrays.equals(hits.get(j).gprs(), mine)) {
                    matches[0]++;
                    return j;
                }
            }
            for (int j = from; j < hits.size(); j++) {
                if (hits.get(j).gprs()[4] == mine[4]) {
                    matches[1]++;
                    return j;
                }
            }
            matches[2]++;
            return from;
        }

        @Override
        public long rdtsc() {
            long v = value("RDTSC", new long[0], new long[]{lastTsc})[0];
            lastTsc = v;
            return v;
        }

        @Override
        public long[] cpuid(long leaf, long subleaf) {
            return value("CPUID", new long[]{leaf, subleaf}, new long[4]).clone();
        }

        @Override
        public long rdmsr(long msr) { return value("RDMSR", new long[]{msr}, new long[1])[0]; }

        @Override
        public long portIn(long port, int size) { return value("PORT_IN", new long[]{port, size}, new long[1])[0]; }

        @Override
        public long rdpkru() { return value("RDPKRU", new long[0], new long[1])[0]; }

        @Override
        public long rdrand(int size) {
            throw new IllegalStateException("rdrand at rip 0x" + Long.toHexString(state.rip()) + ": which register it writes is "
                    + "not known to the tracer, so its value cannot be learned from QEMU");
        }

        private int peek(long va) {
            try {
                return (int) machine.readVirtual(va, 1);
            } catch (RuntimeException unmapped) {
                return -1;
            }
        }
    }
}
