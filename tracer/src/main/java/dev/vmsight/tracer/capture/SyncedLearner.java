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
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Learns, after the lockstep prefix, the values the replay will need between the prefix and END,
 * without single-stepping QEMU all the way there (≈500 steps/s): the interpreter runs ahead from
 * START on a copy-on-write of the START RAM (a probe, not the trace) until an instruction needs a
 * value it does not have (rdtsc, cpuid, rdmsr, in; syscall or sysretq while the MSRs they use are
 * unknown). QEMU, stopped where the prefix left it, is then run to the same dynamic instruction:
 * a hardware breakpoint at its address in the trainer's address space, hits told apart by their
 * general registers (the probe recorded a fingerprint of the 16 GPRs at every earlier execution
 * of that address since the last synchronisation; the same code run by an interrupt handler,
 * e.g. the rdtsc on every exit to user mode, has other registers and is skipped), and the hit
 * is checked: QEMU's general registers must equal the probe's. QEMU single-steps the instruction
 * and its registers give the value ("qemu sync"), which the probe then uses too. At END the
 * probe stops; QEMU is left just after the last synchronised instruction.
 *
 * <p>Why this is sound: the probe and QEMU execute the same instruction stream from START; all
 * values that come from outside the machine are QEMU's own, taken at the same dynamic
 * instruction; a disagreement in any general register at a synchronisation point is an error,
 * never papered over. Interrupts QEMU takes between synchronisation points are not in the
 * replay; if they change what the trainer computes, the fidelity check rejects the trace.
 */
final class SyncedLearner {
    private static final Duration SYNC_TIMEOUT = Duration.ofSeconds(30);
    private static final long RF = 1L << 16;

    private final GdbClient gdb;
    private final long cr3Root;
    private final MachineState state;
    private final SystemMachine machine;
    private final Map<Long, List<LearnedValue>> byStep = new HashMap<>();
    private final Map<Integer, Long> learnedLocations;
    private final List<LearnedValue> learned = new ArrayList<>();
    private final List<String> lines = new ArrayList<>();
    private long step;
    /** Per instruction address executed since the last synchronisation, the RSP of each execution. */
    private Map<Long, List<Long>> sinceSync = new HashMap<>();
    private int syncs;
    /** The step QEMU was last synchronised at (it has executed it; the probe may still have to). */
    private long syncedStep = -1;

    /** Thrown out of the probe's step when an environment µop has no value for this step. */
    private static final class NeedsValue extends RuntimeException {
        final String kind;
        final long[] args;

        NeedsValue(String kind, long[] args) {
            super(kind, null, false, false);
            this.kind = kind;
            this.args = args;
        }
    }

    SyncedLearner(GdbClient gdb, CopiedRam ram, X86Registers start, SystemTables tables, CpuFeatures features,
                  List<LearnedValue> prefixValues, Map<Integer, Long> prefixLocations) {
        this.gdb = gdb;
        this.cr3Root = start.pageTableRoot();
        this.state = dev.vmsight.tracer.lockstep.LockstepSession.load(start);
        this.learnedLocations = new LinkedHashMap<>(prefixLocations);
        learnedLocations.forEach(state::set);
        for (LearnedValue v : prefixValues) {
            byStep.computeIfAbsent(v.step(), s -> new ArrayList<>()).add(v);
        }
        this.machine = new SystemMachine(state, PhysMem.copyOnWrite(ram), new ProbeEnvironment(), tables);
        machine.setBitCountFeatures(features.bmi1(), features.lzcnt());
    }

    /** Values learned here (not those of the prefix), in step order. */
    List<LearnedValue> learned() { return List.copyOf(learned); }

    /** Syscall MSRs known now (the prefix's and those learned here). */
    Map<Integer, Long> learnedLocations() { return Map.copyOf(learnedLocations); }

    /** One line per synchronisation, for people. */
    List<String> lines() { return List.copyOf(lines); }

    int syncs() { return syncs; }

    /** Probe steps taken (= the replay's instruction count when END was reached). */
    long steps() { return step; }

    /**
     * Runs the probe from START to END ({@code markOut} in the trainer's CR3), synchronising QEMU
     * at every unknown value after step {@code qemuStep} (where QEMU stands now).
     */
    void run(long qemuStep, long markOut, long maxInstructions) {
        while (!(state.rip() == markOut && (state.get(Loc.CR3) & X86Registers.CR3_ROOT_MASK) == cr3Root)) {
            if (step >= maxInstructions) {
                throw new TraceBudgetException(String.format("the trainer did not reach END within %,d instructions "
                        + "(the interpreter was at rip 0x%x, cpl %d)", maxInstructions, state.rip(), state.cpl()));
            }
            long next = step + 1;
            if (next > qemuStep && next != syncedStep) {
                // QEMU has not executed this one yet (after a synchronisation the probe re-executes the synchronised step)
                sinceSync.computeIfAbsent(state.rip(), a -> new ArrayList<>()).add(fingerprint(state));
                syncSyscallMsrs(next);
            }
            long[] before = state.architectural();
            try {
                step = next;
                machine.step();
            } catch (NeedsValue need) {
                if (next <= qemuStep) {
                    throw new IllegalStateException("the lockstep prefix passed step " + next + " without learning its " + need.kind);
                }
                restore(before);
                step = next - 1;
                learnAt(next, need.kind, need.args);
            }
        }
    }

    // ---- synchronisation with QEMU

    /** syscall / sysretq while LSTAR or STAR[63:48] are unknown: learn them from QEMU stepping that instruction. */
    private void syncSyscallMsrs(long next) {
        int b0 = peek(state.rip()), b1 = peek(state.rip() + 1), b2 = peek(state.rip() + 2);
        boolean syscall = b0 == 0x0f && b1 == 0x05 && !learnedLocations.containsKey(Loc.LSTAR);
        boolean sysretq = b0 == 0x48 && b1 == 0x0f && b2 == 0x07 && (state.get(Loc.STAR) >>> 48) == 0;
        if (!syscall && !sysretq) {
            return;
        }
        X86Registers[] around = qemuStepsAt(next);
        X86Registers before = around[0], after = around[1];
        if (syscall) {
            long flags = before.eflags() & 0xFFFF_FFFFL & ~RF, post = after.eflags() & 0xFFFF_FFFFL;
            location(Loc.LSTAR, after.rip());
            location(Loc.SFMASK, flags & ~post);
            location(Loc.STAR, state.get(Loc.STAR) & ~(0xFFFFL << 32) | (after.cs() & 0xFFFFL) << 32);
            lines.add(String.format("step %d at 0x%x: syscall synchronised: LSTAR = 0x%x, SFMASK = 0x%x", next, before.rip(),
                    after.rip(), flags & ~post));
        } else {
            location(Loc.STAR, state.get(Loc.STAR) & ~(0xFFFFL << 48) | ((after.cs() & 0xFFFFL) - 16 & 0xFFFF) << 48);
            lines.add(String.format("step %d at 0x%x: sysretq synchronised: STAR[63:48] = 0x%x", next, before.rip(),
                    (after.cs() & 0xFFFF) - 16));
        }
    }

    private void location(int loc, long value) {
        state.set(loc, value);
        learnedLocations.put(loc, value);
    }

    private void learnAt(long next, String kind, long[] args) {
        X86Registers after = qemuStepsAt(next)[1];
        long[] values = switch (kind) {
            case "RDTSC", "RDMSR" -> new long[]{after.rdx() << 32 | after.rax() & 0xFFFF_FFFFL};
            case "CPUID" -> new long[]{after.rax() & 0xFFFF_FFFFL, after.rbx() & 0xFFFF_FFFFL, after.rcx() & 0xFFFF_FFFFL,
                    after.rdx() & 0xFFFF_FFFFL};
            case "PORT_IN" -> new long[]{args[1] == 8 ? after.rax() : after.rax() & ((1L << (8 * args[1])) - 1)};
            default -> throw new IllegalStateException(kind + " at rip 0x" + Long.toHexString(state.rip())
                    + ": its value cannot be read back from QEMU's registers");
        };
        LearnedValue v = new LearnedValue(next, state.rip(), kind, args, values);
        byStep.computeIfAbsent(next, s -> new ArrayList<>()).add(v);
        learned.add(v);
        lines.add(v + " (qemu sync)");
    }

    /**
     * Runs QEMU to the dynamic instruction the probe is about to execute as step {@code next},
     * checks that QEMU's registers there are the probe's, single-steps it; returns QEMU's
     * registers before and after that instruction.
     */
    private X86Registers[] qemuStepsAt(long next) {
        long rip = state.rip();
        List<Long> prints = sinceSync.getOrDefault(rip, List.of(fingerprint(state)));
        int[] seen = {0};
        X86Registers hit;
        try {
            hit = gdb.continueToBreakpoint(rip, r -> r.pageTableRoot() == cr3Root && seen[0] < prints.size()
                    && fingerprint(r) == prints.get(seen[0]) && ++seen[0] == prints.size(), SYNC_TIMEOUT).registers();
        } catch (GdbException e) {
            throw new IllegalStateException(String.format("QEMU did not reach step %,d (rip 0x%x, execution %d since the last "
                    + "synchronisation) where the replay needs a value from outside the machine: %s", next, rip, prints.size(),
                    e.getMessage()), e);
        } finally {
            try {
                gdb.removeHardwareBreakpoint(rip);   // continueToBreakpoint leaves it inserted, also when it times out
            } catch (GdbException notInserted) {
                // inserting it failed: the exception above says why
            }
        }
        long[] q = {hit.rax(), hit.rcx(), hit.rdx(), hit.rbx(), hit.rsp(), hit.rbp(), hit.rsi(), hit.rdi(),
                hit.r8(), hit.r9(), hit.r10(), hit.r11(), hit.r12(), hit.r13(), hit.r14(), hit.r15()};
        for (int i = 0; i < 16; i++) {
            if (q[i] != state.gpr(i)) {
                throw new IllegalStateException(String.format("QEMU and the interpreter disagree at step %,d (rip 0x%x): %s is "
                        + "0x%x in QEMU, 0x%x in the interpreter", next, rip, Loc.name(i), q[i], state.gpr(i)));
            }
        }
        gdb.step();
        X86Registers after = gdb.readRegisters();
        sinceSync = new HashMap<>();
        syncedStep = next;
        syncs++;
        return new X86Registers[]{hit, after};
    }

    // ---- the probe

    /** A hash of the 16 general registers: tells apart executions of the same address (an interrupt handler's has others). */
    private static long fingerprint(MachineState s) {
        long h = 0;
        for (int i = 0; i < 16; i++) {
            h = h * 0x9E3779B97F4A7C15L + s.gpr(i);
        }
        return h;
    }

    private static long fingerprint(X86Registers r) {
        long[] q = {r.rax(), r.rcx(), r.rdx(), r.rbx(), r.rsp(), r.rbp(), r.rsi(), r.rdi(),
                r.r8(), r.r9(), r.r10(), r.r11(), r.r12(), r.r13(), r.r14(), r.r15()};
        long h = 0;
        for (long v : q) {
            h = h * 0x9E3779B97F4A7C15L + v;
        }
        return h;
    }

    private void restore(long[] before) {
        for (int i = 0; i < before.length; i++) {
            state.set(i, before[i]);
        }
        machine.flushTlb();
    }

    private int peek(long va) {
        try {
            return (int) machine.readVirtual(va, 1);
        } catch (RuntimeException unmapped) {
            return -1;
        }
    }

    private long[] value(String kind, long[] args) {
        for (LearnedValue v : byStep.getOrDefault(step, List.of())) {
            if (v.kind().equals(kind) && java.util.Arrays.equals(v.args(), args)) {
                return v.values();
            }
        }
        throw new NeedsValue(kind, args);
    }

    private final class ProbeEnvironment implements Environment {
        @Override public long rdtsc() { return value("RDTSC", new long[0])[0]; }

        @Override public long[] cpuid(long leaf, long subleaf) { return value("CPUID", new long[]{leaf, subleaf}).clone(); }

        @Override public long rdmsr(long msr) { return value("RDMSR", new long[]{msr})[0]; }

        @Override public long portIn(long port, int size) { return value("PORT_IN", new long[]{port, size})[0]; }

        @Override public long rdrand(int size) { throw new NeedsValue("RDRAND", new long[]{size}); }
    }
}
