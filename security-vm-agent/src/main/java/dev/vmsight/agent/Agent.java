package dev.vmsight.agent;

import java.io.PrintStream;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The long-lived agent: one {@link GuestMonitor} per configured guest, each cycled on its own
 * thread at its interval (fixed delay: cycles of one guest never overlap, and a slow or broken
 * guest never delays another), alerts to JSON lines, metrics and health over HTTP. {@link
 * #close()} is the graceful stop (SIGTERM): no new cycle starts, running ones finish and resume
 * their guest.
 */
public final class Agent implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Agent.class);

    private final AgentConfig config;
    private final AlertSink sink;
    private final CycleLog cycleLog;
    private final AgentMetrics metrics = new AgentMetrics();
    private final Map<String, GuestMonitor> monitors = new LinkedHashMap<>();
    private final StatusServer server;
    private final List<ScheduledExecutorService> schedulers = new ArrayList<>();

    /** Builds the agent and opens its HTTP endpoints; {@link #start()} begins the cycles. {@code stdout} null: alerts only to the file. */
    public Agent(AgentConfig config, PrintStream stdout) {
        this.config = config;
        this.sink = new AlertSink(config.alertsFile(), config.alertsToStdout() ? stdout : null);
        this.cycleLog = new CycleLog(config.cyclesFile(), Clock.systemUTC());
        Bundles bundles = new Bundles(config.bundles());
        for (AgentConfig.GuestEntry g : config.guests()) {
            monitors.put(g.name(), new GuestMonitor(g, config, bundles, sink, metrics, Clock.systemUTC()));
        }
        this.server = new StatusServer(config.metricsHost(), config.metricsPort(), metrics, this::status);
    }

    /** Schedules every guest's cycles (once: a second call does nothing). */
    public synchronized void start() {
        if (!schedulers.isEmpty()) return;
        for (GuestMonitor m : monitors.values()) {
            ScheduledExecutorService s = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "vmsight-agent-" + m.name());
                t.setDaemon(true);
                return t;
            });
            s.scheduleWithFixedDelay(() -> {
                try {
                    logged(m);
                } catch (Throwable t) {      // a bug must not end the guest's schedule
                    LOG.atError().addKeyValue("guest", m.name()).setCause(t).log("cycle failed");
                }
            }, 0, m.entry().interval().toMillis(), TimeUnit.MILLISECONDS);
            schedulers.add(s);
        }
        LOG.atInfo().addKeyValue("guests", monitors.size()).addKeyValue("metrics", "http://" + config.metricsHost() + ":" + port() + "/metrics")
                .log("agent watching");
    }

    /**
     * Starts the cycles and blocks until SIGTERM or SIGINT, whose shutdown hook stops the agent
     * gracefully ({@link #close()}): the foreground agent of {@code vmsight agent} and of the
     * security VM's {@link AgentMain}.
     */
    public void runUntilStopped() throws InterruptedException {
        java.util.concurrent.CountDownLatch stopped = new java.util.concurrent.CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            close();
            stopped.countDown();
        }, "vmsight-agent-stop"));
        start();
        stopped.await();
    }

    /** Runs one cycle of {@code guest} now, on the calling thread (never at the same time as a scheduled one). */
    public CycleReport cycle(String guest) {
        GuestMonitor m = monitors.get(guest);
        if (m == null) throw new IllegalArgumentException("no guest named '" + guest + "' in the agent's config");
        return logged(m);
    }

    private CycleReport logged(GuestMonitor m) {
        CycleReport r = m.cycle();
        cycleLog.write(m.name(), r, m.status());
        return r;
    }

    /** Each guest's status after its last cycle. */
    public Map<String, GuestStatus> status() {
        Map<String, GuestStatus> out = new LinkedHashMap<>();
        monitors.forEach((k, v) -> out.put(k, v.status()));
        return out;
    }

    /** Every alert event of this agent, in order. */
    public List<Alert> alerts() {
        return sink.history();
    }

    /** The HTTP port of /metrics and /health (the configured one, or the one picked for port 0). */
    public int port() {
        return server.port();
    }

    @Override
    public synchronized void close() {
        for (ScheduledExecutorService s : schedulers) s.shutdown();
        for (ScheduledExecutorService s : schedulers) {
            try {
                if (!s.awaitTermination(60, TimeUnit.SECONDS)) s.shutdownNow();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                s.shutdownNow();
            }
        }
        server.close();
        monitors.values().forEach(GuestMonitor::close);
        LOG.info("agent stopped");
    }
}
