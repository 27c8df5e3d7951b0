package dev.vmsight.cli;

import dev.vmsight.agent.Agent;
import dev.vmsight.agent.AgentConfig;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
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
            try (agent) {
                for (int i = 0; i < cycles; i++) {
                    for (AgentConfig.GuestEntry g : c.guests()) agent.cycle(g.name());
                }
                agent.status().forEach((g, s) -> spec.commandLine().getErr().println(
                        "vmsight agent: " + g + ": " + s.state() + " (" + s.detail() + "), " + s.hiddenProcesses() + " hidden, " + s.hooks() + " hooks"));
            }
            return 0;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            agent.close();
            stopped.countDown();
        }, "vmsight-agent-stop"));
        agent.start();
        stopped.await();
        return 0;
    }
}
