package dev.vmsight.tracer.lockstep;

import dev.vmsight.guests.ExecResult;
import dev.vmsight.guests.LabLayout;
import dev.vmsight.guests.QemuGuest;
import dev.vmsight.guests.QemuLauncher;
import dev.vmsight.guests.TrainingProgram;
import dev.vmsight.guests.TrainingSymbols;
import dev.vmsight.guests.gdb.GdbClient;
import dev.vmsight.guests.gdb.GdbException;
import dev.vmsight.guests.gdb.X86Registers;
import dev.vmsight.ir.interp.MachineState;
import dev.vmsight.ir.sys.Step;
import dev.vmsight.ir.sys.SystemMachine;
import dev.vmsight.ir.sys.SystemTables;
import dev.vmsight.ir.uop.Loc;
import dev.vmsight.ir.verify.cpu.UndefinedFlags;
import dev.vmsight.vmi.phys.MemoryMap;
import dev.vmsight.vmi.phys.PhysicalMemories;
import dev.vmsight.vmi.phys.PhysicalMemory;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * The lockstep oracle: a training program is stopped at its START mark in a QEMU guest, its
 * registers and the live RAM become a {@link SystemMachine}, and QEMU (gdbstub single-step) and
 * the interpreter then execute instruction by instruction, every register compared after each
 * step, up to the END mark or a step budget. The guest is never written; afterwards the program
 * runs on to its normal end.
 */
public final class Lockstep {
    /** How long the program may take to reach a mark, or to finish once released. */
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(60);
    private static final long RF = 1L << 16;
    /** After this many divergences the run stops: the report is long enough. */
    private static final int MAX_DIVERGENCES = 10;

    private Lockstep() { }

    /** Boots a lab guest for lockstep runs: 1 vCPU (the gdbstub steps the one CPU), no KASLR. */
    public static QemuGuest bootGuest(LabLayout lab, String name) {
        lab.build(lab.pinnedKernel());
        return QemuLauncher.start(lab.defaultConfig(name).withCpus(1).withKaslr(false));
    }

    /**
     * Runs {@code program} with {@code args} in {@code guest} and lockstep-verifies it from START
     * to END, at most {@code maxSteps} instructions. {@code log} (may be null) gets learned
     * values and divergence reports as they happen; with {@code verbose} every instruction too.
     */
    public static LockstepResult run(QemuGuest guest, LabLayout lab, TrainingProgram program, List<String> args,
                                     long maxSteps, PrintStream log, boolean verbose) {
        if (maxSteps <= 0) {
            throw new IllegalArgumentException("--steps must be positive, not " + maxSteps);
        }
        if (guest.config().cpus() != 1) {
            throw new IllegalArgumentException("lockstep needs a guest with 1 vCPU; '" + guest.name() + "' has "
                    + guest.config().cpus());
        }
        TrainingSymbols symbols = lab.trainingSymbols();
        long main = symbols.address(program, TrainingSymbols.MAIN);
        long markIn = symbols.address(program, TrainingSymbols.MARK_IN);
        long markOut = symbols.address(program, TrainingSymbols.MARK_OUT);
        // The guest's own answer for the CPU features that change how bytes decode (qemu64 has no BMI1).
        Set<String> cpuFlags = Set.of(guest.exec(Duration.ofSeconds(20), List.of("/bin/sh", "-c", "grep -m1 '^flags' /proc/cpuinfo"))
                .stdoutOrThrow("reading the guest's /proc/cpuinfo").replaceFirst("^flags\\s*:", "").trim().split("\\s+"));
        List<String> argv = new ArrayList<>(List.of(program.guestPath()));
        argv.addAll(args);
        // The sleep leaves time to stop the guest and set the breakpoint before the program starts.
        long shell = guest.spawn(List.of("/bin/sh", "-c", "sleep 1; exec " + String.join(" ", argv)));

        LockstepResult partial;
        try (GdbClient gdb = GdbClient.connect(guest.gdbSocket(), Duration.ofSeconds(10));
             PhysicalMemory ram = PhysicalMemories.ramFile(guest.ramFile(), MemoryMap.identity(ramSize(guest)))) {
            // busybox and other static binaries run code at the same addresses: find our process
            // at main by its argv, then follow only its address space (CR3).
            X86Registers atMain = gdb.continueToBreakpoint(main, r -> argvMatches(gdb, r, argv), STOP_TIMEOUT).registers();
            gdb.removeHardwareBreakpoint(main);
            X86Registers start = gdb.continueToBreakpoint(markIn, atMain.cr3(), STOP_TIMEOUT).registers();
            gdb.removeHardwareBreakpoint(markIn);
            SystemTables tables = SystemTables.fromInfoRegisters(guest.hmp("info registers"));
            partial = lockstep(gdb, new LockstepRam(ram), tables, cpuFlags, program, start, markOut, maxSteps, log, verbose);
        }
        ExecResult exit = awaitExit(guest, shell, program);
        return new LockstepResult(partial.program(), partial.steps(), partial.kernelSteps(), partial.userSteps(),
                partial.reachedEnd(), partial.divergences(), partial.learned(), partial.undefinedFlagsFromQemu(), partial.seconds(),
                exit.exitCode(), exit.stdout() + exit.stderr());
    }

    private static LockstepResult lockstep(GdbClient gdb, LockstepRam ram, SystemTables tables, Set<String> cpuFlags,
                                           TrainingProgram program,
                                           X86Registers start, long markOut, long maxSteps, PrintStream log, boolean verbose) {
        QemuStepper qemu = new QemuStepper(gdb, start);
        LockstepEnvironment env = new LockstepEnvironment(qemu);
        MachineState state = RegisterMapping.load(start, new MachineState());
        SystemMachine machine = new SystemMachine(state, ram, env, tables);
        boolean bmi1 = cpuFlags.contains("bmi1"), lzcnt = cpuFlags.contains("abm");
        machine.setBitCountFeatures(bmi1, lzcnt);
        env.record("cpu feature bmi1 (guest /proc/cpuinfo)", bmi1 ? 1 : 0);
        env.record("cpu feature abm/lzcnt (guest /proc/cpuinfo)", lzcnt ? 1 : 0);
        List<String> divergences = new ArrayList<>();
        long steps = 0, kernel = 0;
        boolean reachedEnd = false;
        int learnedShown = 0;
        Map<String, Long> undefined = new TreeMap<>();
        long t0 = System.nanoTime();
        while (steps < maxSteps && divergences.size() < MAX_DIVERGENCES) {
            X86Registers before = qemu.before();
            env.atStep(steps + 1);
            learnSyscallMsrs(machine, qemu, env);
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
                kernel++;
            }
            List<RegisterMapping.Difference> diffs = failure == null ? RegisterMapping.compare(state, after) : List.of();
            if (step != null && step.instruction() != null && !step.faulted()) {
                diffs = adoptUndefinedFlags(step, before, state, after, diffs, undefined);
            }
            List<LockstepRam.Mismatch> memory = ram.reconcile();
            if (verbose && log != null && step != null) {
                log.printf("%,d cpl%d %s", steps, before.cpl(), step.describe());
            }
            if (failure != null || !diffs.isEmpty() || !memory.isEmpty()) {
                String report = divergenceReport(steps, before, step, failure, diffs, memory, state, after);
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
            if (after.rip() == markOut && after.cr3() == start.cr3()) {
                reachedEnd = true;
                break;
            }
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        return new LockstepResult(program.fileName(), steps, kernel, steps - kernel, reachedEnd, divergences,
                env.learned(), undefined, seconds, -1, "");
    }

    /**
     * RFLAGS bits the SDM leaves undefined for this instruction (AF after a shift, ...) may
     * differ: the interpreter writes the host CPU's value, QEMU its own. Such a difference is not
     * a divergence; QEMU's value is taken, so later steps compare from the same flags, and it is
     * counted per "mnemonic flag". Every other difference stays.
     */
    private static List<RegisterMapping.Difference> adoptUndefinedFlags(Step step, X86Registers before, MachineState state,
                                                                        X86Registers after, List<RegisterMapping.Difference> diffs,
                                                                        Map<String, Long> tally) {
        long mine = state.rflags(), qemu = after.eflags() & 0xFFFF_FFFFL;
        long differing = mine ^ qemu;
        if (differing == 0) {
            return diffs;
        }
        long allowed = UndefinedFlags.of(step.instruction().instruction(), RegisterMapping.gprs(before));
        if ((differing & ~allowed) != 0) {
            return diffs;
        }
        state.setRflags(qemu);
        String mnemonic = step.instruction().instruction().mnemonic().name().toLowerCase(java.util.Locale.ROOT);
        for (int bit = 0; bit < 32; bit++) {
            if ((differing >>> bit & 1) != 0) {
                tally.merge(mnemonic + " " + FLAG_NAMES.getOrDefault(bit, "bit" + bit), 1L, Long::sum);
            }
        }
        return diffs.stream().filter(d -> !d.register().equals("rflags")).toList();
    }

    private static final Map<Integer, String> FLAG_NAMES = Map.of(0, "CF", 2, "PF", 4, "AF", 6, "ZF", 7, "SF", 11, "OF");

    /**
     * syscall and sysretq use MSRs the gdbstub does not show: step QEMU first and learn them from
     * where it lands (LSTAR = RIP, STAR from CS, SFMASK from the RFLAGS bits that were cleared).
     */
    private static void learnSyscallMsrs(SystemMachine machine, QemuStepper qemu, LockstepEnvironment env) {
        MachineState s = machine.state();
        X86Registers before = qemu.before();
        int b0 = peek(machine, before.rip()), b1 = peek(machine, before.rip() + 1), b2 = peek(machine, before.rip() + 2);
        boolean syscall = b0 == 0x0f && b1 == 0x05;
        boolean sysretq = b0 == 0x48 && b1 == 0x0f && b2 == 0x07;
        if (syscall) {
            X86Registers after = qemu.after();
            learn(s, env, Loc.LSTAR, "LSTAR (where syscall lands)", after.rip());
            long flags = before.eflags() & 0xFFFF_FFFFL & ~RF, post = after.eflags() & 0xFFFF_FFFFL;
            long sfmask = s.get(Loc.SFMASK) | flags & ~post;
            sfmask &= ~(flags & post);   // a bit that stayed set is not masked
            learn(s, env, Loc.SFMASK, "SFMASK (RFLAGS bits syscall cleared)", sfmask);
            long star = s.get(Loc.STAR) & ~(0xFFFFL << 32) | (after.cs() & 0xFFFFL) << 32;
            learn(s, env, Loc.STAR, "STAR[47:32] (CS after syscall)", star);
        } else if (sysretq) {
            X86Registers after = qemu.after();
            long star = s.get(Loc.STAR) & ~(0xFFFFL << 48) | ((after.cs() & 0xFFFFL) - 16 & 0xFFFF) << 48;
            learn(s, env, Loc.STAR, "STAR[63:48] (CS after sysretq, - 16)", star);
        }
    }

    private static void learn(MachineState s, LockstepEnvironment env, int loc, String what, long value) {
        if (s.get(loc) != value) {
            s.set(loc, value);
            env.record(what, value);
        }
    }

    private static int peek(SystemMachine machine, long va) {
        try {
            return (int) machine.readVirtual(va, 1);
        } catch (RuntimeException unmapped) {
            return -1;
        }
    }

    private static String divergenceReport(long n, X86Registers before, Step step, String failure,
                                           List<RegisterMapping.Difference> diffs, List<LockstepRam.Mismatch> memory,
                                           MachineState state, X86Registers after) {
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

    /** RAM file offsets equal guest-physical addresses only below the PCI hole (pc machine: 3 GiB). */
    private static final long IDENTITY_MAPPED_LIMIT = 3L << 30;

    private static long ramSize(QemuGuest guest) {
        try {
            long size = Files.size(guest.ramFile());
            if (size > IDENTITY_MAPPED_LIMIT) {
                throw new IllegalArgumentException("guest RAM file " + guest.ramFile() + " holds " + (size >> 20)
                        + " MiB: above 3 GiB the pc machine splits RAM around the PCI hole, which lockstep does not map; "
                        + "boot the guest with less memory");
            }
            return size;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the size of the guest RAM file " + guest.ramFile(), e);
        }
    }

    private static ExecResult awaitExit(QemuGuest guest, long pid, TrainingProgram program) {
        long deadline = System.nanoTime() + STOP_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            Optional<ExecResult> r = guest.poll(pid);
            if (r.isPresent()) {
                return r.get();
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for " + program.guestPath(), e);
            }
        }
        throw new IllegalStateException(program.guestPath() + " (guest pid " + pid + ") did not finish within "
                + STOP_TIMEOUT.toSeconds() + " s after the debugger let it go");
    }

    /** Whether a stop at main is our process: argv (rdi = argc, rsi = argv) equals {@code expected}. */
    private static boolean argvMatches(GdbClient gdb, X86Registers r, List<String> expected) {
        if (r.rdi() != expected.size()) {
            return false;
        }
        try {
            for (int i = 0; i < expected.size(); i++) {
                long p = ByteBuffer.wrap(gdb.readMemory(r.rsi() + 8L * i, 8)).order(ByteOrder.LITTLE_ENDIAN).getLong();
                byte[] s = gdb.readMemory(p, expected.get(i).length() + 1);
                String got = new String(s, 0, s.length - 1, StandardCharsets.US_ASCII);
                if (!got.equals(expected.get(i)) || s[s.length - 1] != 0) {
                    return false;
                }
            }
            return true;
        } catch (GdbException unmapped) {
            return false;   // not a program's main (other code at the same address)
        }
    }
}
