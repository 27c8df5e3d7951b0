package dev.vmsight.agent;

import dev.vmsight.jit.run.RunOutcome;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The agent's Prometheus metrics (Micrometer): cycles by result, cycle time, guest pause time
 * and per-monitor run time (histograms), refusals by kind, alerts by kind and state, active
 * findings and guest-agent reachability per guest, and guests up.
 */
final class AgentMetrics {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final Map<String, AtomicInteger> active = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> agentUp = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> up = new ConcurrentHashMap<>();

    AgentMetrics() {
        Gauge.builder("vmsight_guests_up", up, m -> m.values().stream().mapToInt(AtomicInteger::get).sum())
                .description("guests whose last cycle could run the monitors").register(registry);
    }

    String scrape() {
        return registry.scrape();
    }

    void cycle(String guest, boolean ok, long nanos) {
        Counter.builder("vmsight_cycles").tag("guest", guest).tag("result", ok ? "ok" : "failed")
                .description("agent cycles").register(registry).increment();
        timer("vmsight_cycle", "one cycle: guest views, pause, monitors, cross-view", guest, null).record(nanos, TimeUnit.NANOSECONDS);
        up.computeIfAbsent(guest, g -> new AtomicInteger()).set(ok ? 1 : 0);
    }

    void pause(String guest, long nanos) {
        timer("vmsight_guest_pause", "how long a cycle kept the guest paused", guest, null).record(nanos, TimeUnit.NANOSECONDS);
    }

    void run(String guest, String program, RunOutcome outcome) {
        if (outcome instanceof RunOutcome.Answered a) {
            timer("vmsight_monitor_run", "one monitor run (guest paused)", guest, program).record(Duration.ofNanos(a.micros() * 1000));
            return;
        }
        String kind = outcome instanceof RunOutcome.UnseenPath ? "unseen_path"
                : outcome instanceof RunOutcome.OverBudget ? "budget" : ((RunOutcome.Failed) outcome).kind().toLowerCase(Locale.ROOT);
        Counter.builder("vmsight_refusals").tag("guest", guest).tag("program", program).tag("kind", kind)
                .description("monitor runs that gave no answer, by kind").register(registry).increment();
    }

    void alert(String guest, Alert a) {
        Counter.builder("vmsight_alerts").tag("guest", guest).tag("kind", a.kind().name().toLowerCase(Locale.ROOT))
                .tag("state", a.state().name().toLowerCase(Locale.ROOT)).description("alert events").register(registry).increment();
    }

    void active(String guest, int findings) {
        gauge(active, "vmsight_active_findings", "hidden processes and hooks raised and not cleared", guest).set(findings);
    }

    void guestAgentUp(String guest, boolean reachable) {
        gauge(agentUp, "vmsight_guest_agent_up", "1 when the guest's qemu-guest-agent answered (the cross-view needs it)", guest)
                .set(reachable ? 1 : 0);
    }

    /** The value behind guest {@code guest}'s gauge {@code name}, registered on first use. */
    private AtomicInteger gauge(Map<String, AtomicInteger> values, String name, String description, String guest) {
        return values.computeIfAbsent(guest, g -> {
            AtomicInteger v = new AtomicInteger();
            Gauge.builder(name, v, AtomicInteger::get).tag("guest", g).description(description).register(registry);
            return v;
        });
    }

    private Timer timer(String name, String description, String guest, String program) {
        Timer.Builder b = Timer.builder(name).tag("guest", guest).description(description).publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofNanos(10_000)).maximumExpectedValue(Duration.ofSeconds(30));
        if (program != null) b = b.tag("program", program);
        return b.register(registry);
    }
}
