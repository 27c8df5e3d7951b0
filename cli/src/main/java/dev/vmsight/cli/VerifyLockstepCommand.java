package dev.vmsight.cli;

import dev.vmsight.guests.Guest;
import dev.vmsight.guests.LabLayout;
import dev.vmsight.guests.QemuGuest;
import dev.vmsight.guests.TrainingProgram;
import dev.vmsight.tracer.lockstep.Lockstep;
import dev.vmsight.tracer.lockstep.LockstepResult;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code vmsight verify lockstep PROGRAM}: QEMU's gdbstub single-step as the oracle for the whole
 * interpreter (user and kernel), from the program's START mark to its END mark.
 */
@Command(name = "lockstep", mixinStandardHelpOptions = true,
        description = "Single-step a training program in QEMU and in the interpreter together from its START to its "
                + "END mark, comparing every register after every step; ends with a one-line summary.")
final class VerifyLockstepCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "PROGRAM", description = "training program: getpid, gettime, pslist, getpsfile, lsmod, getdrvfile")
    String program;

    @Option(names = "--steps", description = "step budget (default ${DEFAULT-VALUE})", defaultValue = "1000000")
    long steps;

    @Option(names = "--args", arity = "1..*", description = "arguments for the program (getpsfile PID, getdrvfile BASE)")
    List<String> args = new ArrayList<>();

    @Option(names = "--attach", paramLabel = "NAME", description = "use the running lab guest NAME (vmsight lab boot, 1 vCPU) instead of booting one")
    String attach;

    @Option(names = {"-v", "--verbose"}, description = "print every instruction with its µops")
    boolean verbose;

    @Override
    public Integer call() {
        TrainingProgram p = parseProgram(program);
        if (steps <= 0) {
            throw new IllegalArgumentException("--steps must be positive, not " + steps);
        }
        LabLayout lab = Labs.layout();
        QemuGuest guest;
        if (attach != null) {
            Guest g = Labs.attach(lab, attach);
            if (!(g instanceof QemuGuest q)) {
                Labs.release(g);
                throw new IllegalArgumentException("lab guest '" + attach + "' is a libvirt domain; lockstep needs a QEMU guest "
                        + "with a gdbstub (vmsight lab boot without --libvirt)");
            }
            guest = q;
        } else {
            guest = Lockstep.bootGuest(lab, "lockstep");
        }
        LockstepResult r;
        try {
            r = Lockstep.run(guest, lab, p, args, steps, System.out, verbose);
        } finally {
            if (attach != null) {
                Labs.release(guest);
            } else {
                guest.close();
            }
        }
        System.out.print("program output: " + r.programOutput().strip() + System.lineSeparator());
        if (r.exitCode() != 0) {
            System.out.println(p.guestPath() + " exited with " + r.exitCode() + " after lockstep");
        }
        System.out.println(r.summary());
        return r.divergences().isEmpty() && r.exitCode() == 0 ? 0 : 1;
    }

    private static TrainingProgram parseProgram(String name) {
        try {
            return TrainingProgram.valueOf(name.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("no training program '" + name + "' (getpid, gettime, pslist, getpsfile, lsmod, getdrvfile)");
        }
    }
}
