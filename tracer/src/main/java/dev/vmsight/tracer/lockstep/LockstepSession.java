package dev.vmsight.tracer.lockstep;

import dev.vmsight.guests.gdb.GdbClient;
import dev.vmsight.guests.gdb.X86Registers;
import dev.vmsight.ir.interp.MachineState;
import dev.vmsight.ir.sys.CpuFeatures;
import dev.vmsight.ir.sys.Step;
import dev.vmsight.ir.sys.SystemMachine;
import dev.vmsight.ir.sys.SystemTables;
import dev.vmsight.ir.uop.Loc;
import dev.vmsight.ir.verify.cpu.UndefinedFlags;
import dev.vmsight.vmi.phys.PhysicalMemory;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * QEMU (gdbstub single-step) and the interpreter stepping together from a stopped vCPU, one
 * instruction per {@link #step}: the interpreter executes first over the live RAM file under a
 * byte overlay ({@link LockstepRam}), QEMU steps, every register and every written byte is
 * compared. Values the interpreter cannot know are learned from QEMU ({@link #values()}, and the
 * syscall MSRs in {@link #learnedLocations()}). Used to the END mark by {@link Lockstep#run} and
 * for a prefix of a traced run by the tracer. The caller owns the gdbstub connection and stops
 * stepping when it wants; the guest stays stopped where QEMU is.
 */
public final class LockstepSession {
    private static final long RF = 1L << 16;
    private static final Map<Integer, String> FLAG_NAMES = Map.of(0, "CF", 2, "PF", 4, "AF", 6, "ZF", 7, "SF", 11, "OF");

    private final QemuStepper qemu;
    private final LockstepEnvironment env;
    private final LockstepRam ram;
    private final MachineState state;
    private final SystemMachine machine;
    private final List<String> divergences = new ArrayList<>();
    private final Map<String, Long> undefined = new TreeMap<>();
    private final Map<Integer, Long> learnedLocations = new LinkedHashMap<>();
    private long steps;
    private long kernelSteps;
    private int learnedShown;

    /**
     * @param gdb      connected, the vCPU stopped at {@code start}
     * @param ram      the guest's live RAM (read-only); offsets are guest-physical addresses
     * @param tables   GDTR, IDTR, TSS base at {@code start} (HMP {@code info registers})
     * @param features what the guest's CPU decodes (its /proc/cpuinfo)
     * @param start    the vCPU's registers now
     */
    public LockstepSession(GdbClient gdb, PhysicalMemory ram, SystemTables tables, CpuFeatures features, X86Registers start) {
        this.qemu = new QemuStepper(gdb, start);
        this.env = new LockstepEnvironment(qemu);
        this.ram = new LockstepRam(ram);
        this.state = RegisterMapping.load(start, new MachineState());
        this.machine = new SystemMachine(state, this.ram, env, tables);
        machine.setBitCountFeatures(features.bmi1(), features.lzcnt());
        env.record("cpu feature bmi1 (guest /proc/cpuinfo)", features.bmi1() ? 1 : 0);
        env.record("cpu feature abm/lzcnt (guest /proc/cpuinfo)", features.lzcnt() ? 1 : 0);
    }

    /** The gdbstub registers as a machine state (everything it shows; the syscall MSRs stay 0). */
    public static MachineState load(X86Registers registers) {
        return RegisterMapping.load(registers, new MachineState());
    }

    /** What one lockstep step did: its number, the CPL it ran at, QEMU's registers after it, whether it diverged. */
    public record StepReport(long step, int cpl, X86Registers after, boolean diverged) { }

    /**
     * Executes one instruction in both, compares, and continues from QEMU's state after a
     * divergence (reported in {@link #divergences()} and on {@code log}). {@code log} may be null;
     * with {@code verbose} it gets every instruction too.
     */
    public StepReport step(PrintStream log, boolean verbose) {
        X86Registers before = qemu.before();
        env.atStep(steps + 1);
        learnSyscallMsrs(before);
        Step step = null;
        String failure = null;
        try {
            step = machine.step();
        } catch (RuntimeException e) {
            failure = e.getClass().getSimpleName() + ": " + e.getMessage();
        }
        X86Registers after = qemu.finish();
        steps++;
        if (before.cpl() == 0) {
            kernelSteps++;
        }
        List<RegisterMapping.Difference> diffs = failure == null ? RegisterMapping.compare(state, after) : List.of();
        if (step != null && step.instruction() != null && !step.faulted()) {
            diffs = adoptUndefinedFlags(step, before, after, diffs);
        }
        List<LockstepRam.Mismatch> memory = ram.reconcile();
        if (verbose && log != null && step != null) {
            log.printf("%,d cpl%d %s", steps, before.cpl(), step.describe());
        }
        boolean diverged = failure != null || !diffs.isEmpty() || !memory.isEmpty();
        if (diverged) {
            String report = divergenceReport(steps, before, step, failure, diffs, memory, after);
            divergences.add(report);
            if (log != null) {
                log.print(report);
            }
            // Continue from QEMU's state: later steps are checked against the truth again.
            RegisterMapping.load(after, state);
            machine.flushTlb();
        }
        for (; log != null && learnedShown < env.learnedCount(); learnedShown++) {
            log.println("learned " + env.learned(learnedShown));
        }
        return new StepReport(steps, before.cpl(), after, diverged);
    }

    /** Steps taken. */
    public long steps() { return steps; }

    /** Steps whose instruction ran at CPL 0. */
    public long kernelSteps() { return kernelSteps; }

    /** QEMU's registers now (after the last step). */
    public X86Registers current() { return qemu.before(); }

    public List<String> divergences() { return List.copyOf(divergences); }

    /** Every value learned, one line each, for people. */
    public List<String> learned() { return env.learned(); }

    /** The environment values learned (rdtsc, cpuid, rdmsr, in), in step order. */
    public List<LearnedValue> values() { return env.values(); }

    /**
     * The locations ({@link Loc#LSTAR}, {@link Loc#STAR}, {@link Loc#SFMASK}) learned from
     * syscall/sysretq, with their values: MSRs constant over a run, so they belong in the start state.
     */
    public Map<Integer, Long> learnedLocations() { return Collections.unmodifiableMap(learnedLocations); }

    /** "mnemonic flag" → how often an SDM-undefined flag differed and QEMU's value was taken. */
    public Map<String, Long> undefinedFlagsFromQemu() { return Collections.unmodifiableMap(undefined); }

    /**
     * RFLAGS bits the SDM leaves undefined for this instruction (AF after a shift, ...) may
     * differ: the interpreter writes the host CPU's value, QEMU its own. Such a difference is not
     * a divergence; QEMU's value is taken, so later steps compare from the same flags, and it is
     * counted per "mnemonic flag". Every other difference stays.
     */
    private List<RegisterMapping.Difference> adoptUndefinedFlags(Step step, X86Registers before, X86Registers after,
                                                                 List<RegisterMapping.Difference> diffs) {
        long mine = state.rflags(), fromQemu = after.eflags() & 0xFFFF_FFFFL;
        long differing = mine ^ fromQemu;
        if (differing == 0) {
            return diffs;
        }
        long allowed = UndefinedFlags.of(step.instruction().instruction(), RegisterMapping.gprs(before));
        if ((differing & ~allowed) != 0) {
            return diffs;
        }
        state.setRflags(fromQemu);
        String mnemonic = step.instruction().instruction().mnemonic().name().toLowerCase(java.util.Locale.ROOT);
        for (int bit = 0; bit < 32; bit++) {
            if ((differing >>> bit & 1) != 0) {
                undefined.merge(mnemonic + " " + FLAG_NAMES.getOrDefault(bit, "bit" + bit), 1L, Long::sum);
            }
        }
        return diffs.stream().filter(d -> !d.register().equals("rflags")).toList();
    }

    /**
     * syscall and sysretq use MSRs the gdbstub does not show: step QEMU first and learn them from
     * where it lands (LSTAR = RIP, STAR from CS, SFMASK from the RFLAGS bits that were cleared).
     */
    private void learnSyscallMsrs(X86Registers before) {
        int b0 = peek(before.rip()), b1 = peek(before.rip() + 1), b2 = peek(before.rip() + 2);
        boolean syscall = b0 == 0x0f && b1 == 0x05;
        boolean sysretq = b0 == 0x48 && b1 == 0x0f && b2 == 0x07;
        if (syscall) {
            X86Registers after = qemu.after();
            learn(Loc.LSTAR, "LSTAR (where syscall lands)", after.rip());
            long flags = before.eflags() & 0xFFFF_FFFFL & ~RF, post = after.eflags() & 0xFFFF_FFFFL;
            long sfmask = state.get(Loc.SFMASK) | flags & ~post;
            sfmask &= ~(flags & post);   // a bit that stayed set is not masked
            learn(Loc.SFMASK, "SFMASK (RFLAGS bits syscall cleared)", sfmask);
            long star = state.get(Loc.STAR) & ~(0xFFFFL << 32) | (after.cs() & 0xFFFFL) << 32;
            learn(Loc.STAR, "STAR[47:32] (CS after syscall)", star);
        } else if (sysretq) {
            X86Registers after = qemu.after();
            long star = state.get(Loc.STAR) & ~(0xFFFFL << 48) | ((after.cs() & 0xFFFFL) - 16 & 0xFFFF) << 48;
            learn(Loc.STAR, "STAR[63:48] (CS after sysretq, - 16)", star);
        }
    }

    private void learn(int loc, String what, long value) {
        if (state.get(loc) != value) {
            state.set(loc, value);
            env.record(what, value);
        }
        learnedLocations.put(loc, value);
    }

    private int peek(long va) {
        try {
            return (int) machine.readVirtual(va, 1);
        } catch (RuntimeException unmapped) {
            return -1;
        }
    }

    private String divergenceReport(long n, X86Registers before, Step step, String failure,
                                    List<RegisterMapping.Difference> diffs, List<LockstepRam.Mismatch> memory,
                                    X86Registers after) {
        StringBuilder b = new StringBuilder();
        b.append(String.format("DIVERGENCE at step %,d (cpl %d, rip 0x%x)%n", n, before.cpl(), before.rip()));
        if (step != null) {
            b.append("instruction and µops:\n").append(step.describe().indent(2));
        } else {
            b.append("the interpreter could not execute the instruction at 0x").append(Long.toHexString(before.rip()))
                    .append(": ").append(failure).append('\n');
        }
        for (RegisterMapping.Difference d : diffs) {
            b.append("  differs: ").append(d).append('\n');
        }
        for (LockstepRam.Mismatch m : memory) {
            b.append("  memory:  ").append(m).append('\n');
        }
        b.append("both states after the step:\n").append(RegisterMapping.sideBySide(state, after));
        return b.toString();
    }
}
