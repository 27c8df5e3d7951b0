package dev.vmsight.jit.train;

import dev.vmsight.guests.Guest;
import dev.vmsight.guests.TrainingProgram;
import dev.vmsight.jit.run.Answer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The guest's own answer to a training program's question, taken through qemu-guest-agent just
 * before and just after the paused moment a monitor read (qemu-ga needs the guest running), and
 * the verdict on a monitor's answer: the oracle of every live check.
 *
 * <ul>
 *   <li>pslist: {@code ls /proc}; every PID in both views must be listed, every listed PID must be
 *       in one of them (processes come and go: the ls processes themselves);</li>
 *   <li>gettime: {@code date +%s}; the answer must lie between the two readings;</li>
 *   <li>getpid: the PID running on the monitored vCPU, which the guest cannot tell about a moment
 *       it did not see; the answer must be 0 (the vCPU idled), a process that was running (state
 *       R) before or after, qemu-ga (it serves these readings, so it runs around them), or a kernel
 *       thread (children of kthreadd: softirqs, RCU, workqueues wake on timers and interrupts);</li>
 *   <li>getpsfile PID: {@code /proc/PID/comm} (empty when there is no such process);</li>
 *   <li>lsmod: the bases of {@code /proc/modules}, in its order;</li>
 *   <li>getdrvfile BASE: the name of the module at that base in {@code /proc/modules} (empty if none).</li>
 * </ul>
 */
public final class GuestView {
    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static final Pattern MODULE = Pattern.compile("(?m)^(\\S+) \\d+ \\d+ \\S+ \\S+ 0x([0-9a-f]{16})");

    /** A monitor's answer against the guest's views: whether it agrees, and what was compared. */
    public record Verdict(boolean agrees, String detail) { }

    private final TrainingProgram program;
    private final String input;
    private final String before;

    private GuestView(TrainingProgram program, String input, String before) {
        this.program = program;
        this.input = input;
        this.before = before;
    }

    /** The guest's view now, before a monitor pauses it; {@code input} as given to the monitor (or null). */
    public static GuestView before(Guest guest, TrainingProgram program, String input) {
        return new GuestView(program, input, read(guest, program, input));
    }

    /**
     * The verdict on an answer of a monitor that ran before the guest looked (a cold run): the view
     * is read twice after it, which holds for a guest whose processes neither start nor end.
     */
    public static Verdict afterColdRun(Guest guest, TrainingProgram program, String input, Answer answer) {
        return before(guest, program, input).after(guest, answer);
    }

    /** The guest's view after the monitor ran, and the verdict on its answer. */
    public Verdict after(Guest guest, Answer answer) {
        String after = read(guest, program, input);
        return switch (program) {
            case PSLIST -> pids(answer, numbers(before), numbers(after));
            case GETTIME -> {
                long t = answer.numbers().get(0), b = Long.parseLong(before.strip()), a = Long.parseLong(after.strip());
                yield new Verdict(b <= t && t <= a, "guest time " + b + " before, " + a + " after; monitor " + t);
            }
            case GETPID -> {
                long pid = answer.numbers().get(0);
                Set<Long> running = numbers(before);
                running.addAll(numbers(after));
                Set<Long> agent = matches(before, "(?m)^agent (\\d+)");
                agent.addAll(matches(after, "(?m)^agent (\\d+)"));
                Set<Long> kthreads = matches(before, "(?m)^kthread (\\d+)");
                kthreads.retainAll(matches(after, "(?m)^kthread (\\d+)"));
                yield new Verdict(pid == 0 || running.contains(pid) || agent.contains(pid) || kthreads.contains(pid), "monitor " + pid
                        + "; running in the guest before or after: " + running + ", the guest agent " + agent + ", "
                        + kthreads.size() + " kernel threads" + (kthreads.contains(pid) ? " (one of them)" : "") + " (0: the vCPU idled)");
            }
            case GETPSFILE, GETDRVFILE -> {
                String b = before.strip(), a = after.strip();
                yield new Verdict(answer.text().equals(b) && answer.text().equals(a),
                        "monitor '" + answer.text() + "', guest '" + b + "' before, '" + a + "' after");
            }
            case LSMOD -> {
                List<Long> b = bases(before), a = bases(after);
                yield new Verdict(answer.numbers().equals(b) && b.equals(a), "monitor " + hex(answer.numbers()) + ", guest " + hex(b)
                        + " before, " + hex(a) + " after");
            }
        };
    }

    private static Verdict pids(Answer answer, Set<Long> before, Set<Long> after) {
        Set<Long> monitor = new TreeSet<>(answer.numbers());
        Set<Long> missed = new TreeSet<>(before);
        missed.retainAll(after);
        missed.removeAll(monitor);
        Set<Long> invented = new TreeSet<>(monitor);
        invented.removeAll(before);
        invented.removeAll(after);
        boolean ok = missed.isEmpty() && invented.isEmpty() && monitor.size() == answer.numbers().size();
        return new Verdict(ok, "monitor " + monitor.size() + " PIDs, guest " + before.size() + " before / " + after.size() + " after"
                + (missed.isEmpty() ? "" : ", missed " + missed) + (invented.isEmpty() ? "" : ", not in the guest " + invented)
                + (monitor.size() == answer.numbers().size() ? "" : ", " + (answer.numbers().size() - monitor.size()) + " listed twice"));
    }

    private static String read(Guest guest, TrainingProgram program, String input) {
        String script = switch (program) {
            case PSLIST -> "ls /proc";
            case GETTIME -> "date +%s";
            case GETPID -> "for s in /proc/[0-9]*/stat; do read -r pid rest < $s 2>/dev/null && case \"$rest\" in *') R '*) echo $pid;; esac; "
                    + "case \"$rest\" in *') '?' 2 '*) echo kthread $pid;; esac; done; echo agent $(pidof qemu-ga)";
            case GETPSFILE -> "cat /proc/" + Long.parseLong(input.strip()) + "/comm 2>/dev/null; true";
            case LSMOD, GETDRVFILE -> "cat /proc/modules";
        };
        String out = guest.exec(TIMEOUT, List.of("/bin/sh", "-c", script)).stdoutOrThrow("the guest's own view (" + script + ")");
        if (program == TrainingProgram.GETDRVFILE) {
            long base = Long.parseUnsignedLong(input.strip().replaceFirst("^0[xX]", ""), 16);
            Matcher m = MODULE.matcher(out);
            while (m.find()) {
                if (Long.parseUnsignedLong(m.group(2), 16) == base) {
                    return m.group(1);
                }
            }
            return "";
        }
        return out;
    }

    private static Set<Long> numbers(String text) {
        return matches(text, "(?m)^(\\d+)$");
    }

    /** The decimal numbers of {@code regex}'s first group in {@code text}. */
    private static Set<Long> matches(String text, String regex) {
        Set<Long> out = new TreeSet<>();
        Matcher m = Pattern.compile(regex).matcher(text);
        while (m.find()) {
            out.add(Long.parseLong(m.group(1)));
        }
        return out;
    }

    private static List<Long> bases(String modules) {
        List<Long> out = new ArrayList<>();
        Matcher m = MODULE.matcher(modules);
        while (m.find()) {
            out.add(Long.parseUnsignedLong(m.group(2), 16));
        }
        return out;
    }

    private static String hex(List<Long> values) {
        return "[" + String.join(", ", values.stream().map(v -> "0x" + Long.toHexString(v)).toList()) + "]";
    }
}
