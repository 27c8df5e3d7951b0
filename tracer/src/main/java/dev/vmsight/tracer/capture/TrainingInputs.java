package dev.vmsight.tracer.capture;

import dev.vmsight.guests.Guest;
import dev.vmsight.guests.TrainingProgram;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The arguments of training run i of a program that takes an input, chosen from the guest's own
 * processes and modules so that a series covers the kinds of input a monitor meets live:
 * <ul>
 *   <li>getpsfile PID cycles through init (1), an extra sleeper of the run's workload (its PID
 *       above the run's PID floor, so deeper PID trees and longer names), kthreadd (2, a kernel
 *       thread), a thread that is not its group's leader, the workload's zombie, and a PID no
 *       process has (the answer is empty); the sleeper's and the thread's /proc entries are read
 *       first, as the guest's own tools do, so both cached and uncached dentries are trained;</li>
 *   <li>getdrvfile BASE cycles through the first, the last and a middle module of /proc/modules,
 *       and an address inside a module that is no module's base (the answer is empty).</li>
 * </ul>
 * Other programs take none. The guest's workload must be the run's already (the extra sleepers).
 */
public final class TrainingInputs {
    private static final Duration TIMEOUT = Duration.ofSeconds(30);
    /** A PID no process has: above every PID the variations give (their floors end at 2,000,000 + sleepers). */
    static final String NO_SUCH_PID = "4194000";

    private TrainingInputs() { }

    /** Run {@code run}'s arguments for {@code program}, read from {@code guest}. */
    public static List<String> args(TrainingProgram program, int run, Guest guest) {
        return switch (program) {
            case GETPSFILE -> List.of(pid(run, guest));
            case GETDRVFILE -> List.of(base(run, guest));
            case GETPID, GETTIME, PSLIST, LSMOD -> List.of();
        };
    }

    /** The i-th of getpsfile's kinds of PID (see the class comment). */
    static String pid(int run, Guest guest) {
        switch (run % 6) {
            case 0: return "1";
            case 2: return "2";
            case 5: return NO_SUCH_PID;
            default: break;
        }
        String out = sh(guest, "cat /run/vmsight-workload; echo extra $(tail -n 1 " + Tracer.extraSleepersFile() + " 2>/dev/null); "
                + "t=$(sed -n 's/^threaded \\([0-9]*\\) .*/\\1/p' /run/vmsight-workload); echo task $(ls /proc/$t/task | sort -n | tail -n 1)");
        String pid = switch (run % 6) {
            case 1 -> first(out, "extra (\\d+)").orElseGet(() -> first(out, "sleeper (\\d+)").orElseThrow(() -> missing(out, "a sleeper")));
            case 3 -> first(out, "task (\\d+)").orElseThrow(() -> missing(out, "a thread of vmthreads"));
            default -> first(out, "zombie (\\d+)").orElseThrow(() -> missing(out, "the zombie"));
        };
        if (run % 6 != 4) {
            // the guest's own tools (ps, top) read /proc/PID/comm all the time: its dentries are then cached
            sh(guest, "cat /proc/" + pid + "/comm >/dev/null 2>&1; true");
        }
        return pid;
    }

    /** The i-th of getdrvfile's kinds of base (see the class comment), as 0x-prefixed hex. */
    static String base(int run, Guest guest) {
        String modules = sh(guest, "cat /proc/modules");
        List<Long> bases = new ArrayList<>();
        Matcher m = Pattern.compile("(?m)^\\S+ \\d+ \\d+ \\S+ \\S+ 0x([0-9a-f]{16})").matcher(modules);
        while (m.find()) {
            bases.add(Long.parseUnsignedLong(m.group(1), 16));
        }
        if (bases.isEmpty() || bases.stream().allMatch(b -> b == 0)) {
            throw new IllegalStateException("no module base addresses in the guest's /proc/modules (not read as root?):\n" + modules);
        }
        long base = switch (run % 4) {
            case 0 -> bases.get(0);
            case 1 -> bases.get(bases.size() - 1);
            case 2 -> bases.get(bases.size() / 2);
            default -> bases.get(0) + 0x10;
        };
        return "0x" + Long.toHexString(base);
    }

    private static String sh(Guest guest, String script) {
        return guest.exec(TIMEOUT, List.of("/bin/sh", "-c", script)).stdoutOrThrow("choosing a training input in the guest");
    }

    private static java.util.Optional<String> first(String text, String regex) {
        Matcher m = Pattern.compile("(?m)^" + regex).matcher(text);
        return m.find() ? java.util.Optional.of(m.group(1)) : java.util.Optional.empty();
    }

    private static IllegalStateException missing(String text, String what) {
        return new IllegalStateException("the guest's workload has no " + what + " to train with:\n" + text);
    }
}
