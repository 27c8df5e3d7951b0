package dev.vmsight.tracer.lockstep;

import dev.vmsight.guests.ExecResult;
import dev.vmsight.guests.LabLayout;
import dev.vmsight.guests.QemuGuest;
import dev.vmsight.guests.QemuLauncher;
import dev.vmsight.guests.TrainingProgram;
import dev.vmsight.guests.TrainingSymbols;
import dev.vmsight.guests.gdb.GdbClient;
import dev.vmsight.guests.gdb.X86Registers;
import dev.vmsight.ir.sys.CpuFeatures;
import dev.vmsight.ir.sys.SystemTables;
import dev.vmsight.vmi.phys.MemoryMap;
import dev.vmsight.vmi.phys.PhysicalMemories;
import dev.vmsight.vmi.phys.PhysicalMemory;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

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
    /** After this many divergences the run stops: the report is long enough. */
    private static final int MAX_DIVERGENCES = 10;

    private Lockstep() { }

    /** Boots a lab guest for lockstep runs: 1 vCPU (the gdbstub steps the one CPU), KASLR as the lab says (off by default). */
    public static QemuGuest bootGuest(LabLayout lab, String name) {
        return bootGuest(lab, name, 0);
    }

    /** {@link #bootGuest(LabLayout, String)} with a dentry hash table of {@code dentryHashEntries} buckets (0: the kernel's choice). */
    public static QemuGuest bootGuest(LabLayout lab, String name, int dentryHashEntries) {
        lab.build(lab.pinnedKernel());
        return QemuLauncher.start(lab.defaultConfig(name).withCpus(1).withDentryHashEntries(dentryHashEntries));
    }

    /**
     * Runs {@code program} with {@code args} in {@code guest} and lockstep-verifies it from START
     * to END, at most {@code maxSteps} instructions. {@code log} (may be null) gets learned
     * values and divergence reports as they happen; with {@code verbose} every instruction too.
     */
    public static LockstepResult run(QemuGuest guest, LabLayout lab, TrainingProgram program, List<String> args,
                                     long maxSteps, PrintStream log, boolean verbose) {
        List<String> argv = new ArrayList<>(List.of(program.guestPath()));
        argv.addAll(args);
        return run(guest, lab, program, argv, "exec " + String.join(" ", argv), maxSteps, log, verbose);
    }

    /**
     * As {@link #run(QemuGuest, LabLayout, TrainingProgram, List, long, PrintStream, boolean)}, the
     * program started by {@code shellCommand} (which must end up running {@code argv}: the
     * tracer's variations start it from other parents, with other open files...).
     */
    public static LockstepResult run(QemuGuest guest, LabLayout lab, TrainingProgram program, List<String> argv,
                                     String shellCommand, long maxSteps, PrintStream log, boolean verbose) {
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
        CpuFeatures features = GuestTrainer.cpuFeatures(guest);
        long shell = GuestTrainer.spawn(guest, shellCommand);

        LockstepResult partial;
        try (GdbClient gdb = GdbClient.connect(guest.gdbSocket(), Duration.ofSeconds(10));
             PhysicalMemory ram = PhysicalMemories.ramFile(guest.ramFile(), MemoryMap.identity(GuestTrainer.ramSize(guest)))) {
            X86Registers start = GuestTrainer.stopAtStart(gdb, main, markIn, argv, STOP_TIMEOUT);
            SystemTables tables = SystemTables.fromInfoRegisters(guest.hmp("info registers"));
            LockstepSession session = new LockstepSession(gdb, ram, tables, features, start);
            boolean reachedEnd = false;
            long t0 = System.nanoTime();
            while (session.steps() < maxSteps && session.divergences().size() < MAX_DIVERGENCES) {
                X86Registers after = session.step(log, verbose).after();
                if (after.rip() == markOut && after.cr3() == start.cr3()) {
                    reachedEnd = true;
                    break;
                }
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            partial = new LockstepResult(program.fileName(), session.steps(), session.kernelSteps(),
                    session.steps() - session.kernelSteps(), reachedEnd, session.divergences(), session.learned(),
                    session.undefinedFlagsFromQemu(), seconds, -1, "");
        }
        ExecResult exit = GuestTrainer.awaitExit(guest, shell, program.guestPath(), STOP_TIMEOUT);
        return new LockstepResult(partial.program(), partial.steps(), partial.kernelSteps(), partial.userSteps(),
                partial.reachedEnd(), partial.divergences(), partial.learned(), partial.undefinedFlagsFromQemu(), partial.seconds(),
                exit.exitCode(), exit.stdout() + exit.stderr());
    }
}
