package dev.vmsight.agent;

import java.nio.file.Path;

/**
 * The agent's entry point where the CLI is not shipped: the security VM's /init runs
 * {@code java -cp ... dev.vmsight.agent.AgentMain --config FILE}. Runs until SIGTERM or SIGINT, as
 * {@code vmsight agent} does; exit 2 on a bad command line or configuration.
 */
public final class AgentMain {
    private AgentMain() {}

    public static void main(String[] args) throws InterruptedException {
        if (args.length != 2 || !args[0].equals("--config")) {
            System.err.println("usage: java dev.vmsight.agent.AgentMain --config FILE");
            System.exit(2);
        }
        Agent agent;
        try {
            agent = new Agent(AgentConfig.load(Path.of(args[1])), System.out);
        } catch (AgentConfig.AgentConfigException e) {
            System.err.println("vmsight agent: " + e.getMessage());
            System.exit(2);
            return;
        }
        agent.runUntilStopped();
    }
}
