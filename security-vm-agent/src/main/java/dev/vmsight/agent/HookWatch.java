package dev.vmsight.agent;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Hook findings of one guest across cycles: a finding present in a cycle and not in the one before
 * is raised; one that disappears (the rootkit unloaded, the code restored) is cleared. Findings
 * are only compared when the cycle could look (a cycle that refused before reaching the code
 * check reports nothing and changes nothing).
 */
final class HookWatch {

    /** One hook seen in a cycle. */
    record Finding(Alert.Kind kind, String key, String summary, Map<String, String> details) { }

    private final String guest;
    private final Map<String, Finding> active = new LinkedHashMap<>();

    HookWatch(String guest) {
        this.guest = guest;
    }

    /** This cycle's findings of {@code kinds}; returns alerts raised and cleared. */
    List<Alert> update(Instant now, List<Finding> current, java.util.Set<Alert.Kind> kinds) {
        Map<String, Finding> now_ = new LinkedHashMap<>();
        for (Finding f : current) now_.putIfAbsent(f.key(), f);
        List<Alert> out = new ArrayList<>();
        for (Finding f : List.copyOf(active.values())) {
            if (kinds.contains(f.kind()) && !now_.containsKey(f.key())) {
                active.remove(f.key());
                out.add(new Alert(now, guest, f.kind(), Alert.State.CLEARED, f.key(), "cleared: " + f.summary(), f.details()));
            }
        }
        for (Finding f : now_.values()) {
            if (active.putIfAbsent(f.key(), f) == null) {
                out.add(new Alert(now, guest, f.kind(), Alert.State.RAISED, f.key(), f.summary(), f.details()));
            }
        }
        return out;
    }

    int active() {
        return active.size();
    }
}
