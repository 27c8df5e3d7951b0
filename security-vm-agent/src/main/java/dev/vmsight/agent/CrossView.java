package dev.vmsight.agent;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * Hidden-process detection by cross-view, for one guest. Each cycle compares the PIDs the
 * out-of-guest pslist found (the guest paused) with the guest's own {@code /proc}, read through
 * qemu-guest-agent just before the pause and just after it. A PID the monitor lists and neither
 * guest view shows is a suspect; a suspect in {@code hiddenAfter} consecutive cycles (with the same
 * name, so a reused PID starts again) is an alert, cleared when the guest shows it again or the
 * monitor no longer finds it. A short-lived process can miss both views once; it cannot keep
 * missing them with the same PID and name, which is why churn gives no alert.
 */
final class CrossView {

    /** A suspect PID and its run of consecutive cycles. */
    private record Suspect(long pid, String name, Instant firstSeen, int cycles, boolean alerted) { }

    private final String guest;
    private final int hiddenAfter;
    private final Map<Long, Suspect> suspects = new HashMap<>();

    CrossView(String guest, int hiddenAfter) {
        this.guest = guest;
        this.hiddenAfter = hiddenAfter;
    }

    /**
     * One cycle's views; {@code names} are the names the out-of-guest getpsfile read for the
     * suspects (absent when it could not). Returns the alerts raised or cleared.
     */
    List<Alert> update(Instant now, Set<Long> monitor, Set<Long> before, Set<Long> after, Map<Long, String> names) {
        Set<Long> seen = new TreeSet<>(monitor);
        seen.removeAll(before);
        seen.removeAll(after);
        List<Alert> out = new ArrayList<>();
        for (Suspect s : List.copyOf(suspects.values())) {
            String name = names.get(s.pid());
            boolean same = seen.contains(s.pid()) && (name == null || s.name() == null || name.equals(s.name()));
            if (!same) {
                suspects.remove(s.pid());
                if (s.alerted()) {
                    String why = !monitor.contains(s.pid()) ? "the monitor no longer finds it"
                            : before.contains(s.pid()) || after.contains(s.pid()) ? "the guest's /proc shows it again" : "its name changed (PID reused)";
                    out.add(alert(now, Alert.State.CLEARED, s, why));
                }
            }
        }
        for (long pid : seen) {
            Suspect old = suspects.get(pid);
            String name = names.get(pid);
            Suspect s = old == null ? new Suspect(pid, name, now, 1, false)
                    : new Suspect(pid, Objects.requireNonNullElse(old.name(), name), old.firstSeen(), old.cycles() + 1, old.alerted());
            if (!s.alerted() && s.cycles() >= hiddenAfter) {
                s = new Suspect(s.pid(), s.name(), s.firstSeen(), s.cycles(), true);
                out.add(alert(now, Alert.State.RAISED, s, "listed by the out-of-guest pslist, absent from the guest's /proc in "
                        + s.cycles() + " consecutive cycles"));
            }
            suspects.put(pid, s);
        }
        return out;
    }

    /** PIDs alerted and not cleared. */
    Set<Long> hidden() {
        Set<Long> out = new TreeSet<>();
        for (Suspect s : suspects.values()) if (s.alerted()) out.add(s.pid());
        return out;
    }

    /** Suspects of the last cycle, alerted or not. */
    Set<Long> suspects() {
        return new TreeSet<>(suspects.keySet());
    }

    private Alert alert(Instant now, Alert.State state, Suspect s, String why) {
        Map<String, String> d = new LinkedHashMap<>();
        d.put("pid", Long.toString(s.pid()));
        d.put("name", s.name() == null ? "" : s.name());
        d.put("first_seen", s.firstSeen().toString());
        d.put("cycles", Integer.toString(s.cycles()));
        d.put("reason", why);
        return new Alert(now, guest, Alert.Kind.HIDDEN_PROCESS, state, "pid:" + s.pid(),
                (state == Alert.State.RAISED ? "hidden process " : "process visible again: ") + s.pid()
                        + (s.name() == null ? "" : " (" + s.name() + ")"), d);
    }
}
