package dev.vmsight.cli;

import dev.vmsight.agent.Agent;
import dev.vmsight.agent.AgentConfig;
import dev.vmsight.agent.CycleReport;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code vmsight agent --config FILE}: the long-lived agent (security-vm-agent/README.md). Runs
 * until SIGTERM or SIGINT, which stop it gracefully; {@code --cycles N} runs N cycles of each guest
 * in turn and exits (for scripts and a first look).
 */
@Command(name = "agent", mixinStandardHelpOptions = true,
        description = "Watch guests with the compiled monitors: hidden processes (cross-view), kernel hooks; alerts as JSON lines, Prometheus /metrics.")
final class AgentCommand implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Option(names = "--config", required = true, paramLabel = "FILE", description = "the agent's TOML configuration (security-vm-agent/README.md)")
    Path config;

    @Option(names = "--cycles", paramLabel = "N", description = "run N cycles of each guest, one after another, then exit")
    Integer cycles;

    @Override
    public Integer call() throws InterruptedException {
        AgentConfig c = AgentConfig.load(config);
        PrintStream out = System.out;
        Agent agent = new Agent(c, out);
        if (cycles != null) {
            Map<String, List<CycleReport>> reports = new LinkedHashMap<>();
            try (agent) {
                for (int i = 0; i < cycles; i++) {
                    for (AgentConfig.GuestEntry g : c.guests()) {
                        reports.computeIfAbsent(g.name(), k -> new ArrayList<>()).add(agent.cycle(g.name()));
                    }
                }
                agent.status().forEach((g, s) -> spec.commandLine().getErr().println(
                        "vmsight agent: " + g + ": " + s.state() + " (" + s.detail() + "), " + s.hiddenProcesses() + " hidden, " + s.hooks()
                                + " hooks; " + cost(reports.get(g))));
            }
            return 0;
        }
        agent.runUntilStopped();     // SIGTERM and SIGINT stop it gracefully
        return 0;
    }

    /** Median cycle and pause time of a guest's cycles, the first (it compiles the monitors) left out when there are more. */
    private static String cost(List<CycleReport> reports) {
        List<CycleReport> warm = reports.size() > 1 ? reports.subList(1, reports.size()) : reports;
        long[] cycle = warm.stream().mapToLong(CycleReport::cycleNanos).sorted().toArray();
        long[] pause = warm.stream().mapToLong(CycleReport::pauseNanos).sorted().toArray();
        long ok = reports.stream().filter(CycleReport::ok).count();
        return String.format("%d of %d cycles ran their monitors; median cycle %.1f ms, guest paused %.1f ms over %d cycles"
                        + " (the first: %.1f / %.1f ms)", ok, reports.size(), cycle[cycle.length / 2] / 1e6, pause[pause.length / 2] / 1e6,
                warm.size(), reports.get(0).cycleNanos() / 1e6, reports.get(0).pauseNanos() / 1e6);
    }
}
