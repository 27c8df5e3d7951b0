package dev.vmsight.agent;

import dev.vmsight.jit.run.RunOutcome;
import java.util.List;
import java.util.Map;

/** One cycle of one guest: whether the monitors ran, its time and the guest's pause time, each run's outcome, the alerts it raised or cleared. */
public record CycleReport(boolean ok, long cycleNanos, long pauseNanos, Map<String, RunOutcome> outcomes, List<Alert> alerts) {
    public CycleReport {
        outcomes = Map.copyOf(outcomes);
        alerts = List.copyOf(alerts);
    }
}
