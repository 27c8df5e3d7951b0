package dev.vmsight.benchmarks;

import dev.vmsight.agent.Agent;
import dev.vmsight.agent.AgentConfig;
import dev.vmsight.agent.CycleReport;
import dev.vmsight.jit.run.RunOutcome;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the agent costs per cycle on a running lab guest: {@code Agent.cycle} of one guest as the
 * agent's scheduler runs it (pause, every monitor, resume, the cross-view through the guest's
 * qemu-guest-agent, alerts), after warm-up cycles. Prints one JSON object: medians and 90th
 * percentiles of the cycle and of the guest's pause, and how each monitor's runs ended.
 * Arguments: GUEST (a `vmsight lab boot` name), BUNDLES (directory of .vmprog), SYMBOLS (the corpus
 * directory with kallsyms per kernel), CYCLES, WARMUP, and the monitors (default pslist,getpsfile:
 * the agent's default).
 */
public final class AgentCycles {

    private AgentCycles() {}

    public static void main(String[] args) throws IOException {
        if (args.length < 5) {
            throw new IllegalArgumentException("usage: AgentCycles GUEST BUNDLES SYMBOLS CYCLES WARMUP [MONITORS] (-Dvmsight.root)");
        }
        String guest = args[0];
        int cycles = Integer.parseInt(args[3]);
        int warmup = Integer.parseInt(args[4]);
        String monitors = args.length > 5 ? args[5] : String.join(",", AgentConfig.DEFAULT_MONITORS);
        Path root = Path.of(System.getProperty("vmsight.root", ".")).toAbsolutePath();
        Path config = Files.createTempFile("vmsight-agent-cycles", ".toml");
        try {
            Files.writeString(config, String.format(Locale.ROOT, """
                    bundles = "%s"
                    symbols = "%s"
                    interval = "1h"
                    [alerts]
                    stdout = false
                    [metrics]
                    listen = "127.0.0.1:0"
                    [[guest]]
                    name = "%s"
                    lab = "%s"
                    lab_root = "%s"
                    monitors = [%s]
                    """, Path.of(args[1]).toAbsolutePath(), Path.of(args[2]).toAbsolutePath(), guest, guest, root,
                    String.join(", ", Arrays.stream(monitors.split(",")).map(m -> "\"" + m.trim() + "\"").toList())));
            List<Long> cycle = new ArrayList<>();
            List<Long> pause = new ArrayList<>();
            Map<String, Map<String, Integer>> outcomes = new TreeMap<>();
            // the agent is not started: its scheduler stays off, and cycles run here one after another
            try (Agent agent = new Agent(AgentConfig.load(config), new PrintStream(OutputStream.nullOutputStream()))) {
                for (int i = 0; i < warmup + cycles; i++) {
                    CycleReport r = agent.cycle(guest);
                    if (i < warmup) continue;
                    if (!r.ok()) throw new IllegalStateException("cycle " + i + " of " + guest + " did not run its monitors: " + agent.status());
                    cycle.add(r.cycleNanos());
                    pause.add(r.pauseNanos());
                    for (Map.Entry<String, RunOutcome> e : r.outcomes().entrySet()) {
                        String kind = e.getValue() instanceof RunOutcome.Answered ? "answer" : e.getValue().getClass().getSimpleName();
                        outcomes.computeIfAbsent(e.getKey(), k -> new TreeMap<>()).merge(kind, 1, Integer::sum);
                    }
                }
            }
            System.out.printf(Locale.ROOT, "{\"guest\": \"%s\", \"cycles\": %d, \"warmup\": %d, \"monitors\": \"%s\", "
                            + "\"cycle_median_s\": %.6f, \"cycle_p90_s\": %.6f, \"pause_median_s\": %.6f, \"pause_p90_s\": %.6f, \"outcomes\": %s}%n",
                    guest, cycles, warmup, monitors, quantile(cycle, 0.5), quantile(cycle, 0.9), quantile(pause, 0.5),
                    quantile(pause, 0.9), json(outcomes));
        } finally {
            Files.deleteIfExists(config);
        }
    }

    private static double quantile(List<Long> nanos, double q) {
        long[] s = nanos.stream().mapToLong(Long::longValue).sorted().toArray();
        return s[(int) Math.min(s.length - 1, Math.floor(q * s.length))] / 1e9;
    }

    private static String json(Map<String, Map<String, Integer>> outcomes) {
        StringBuilder b = new StringBuilder("{");
        outcomes.forEach((m, kinds) -> {
            b.append(b.length() > 1 ? ", " : "").append('"').append(m).append("\": {");
            StringBuilder k = new StringBuilder();
            kinds.forEach((kind, n) -> k.append(k.length() > 0 ? ", " : "").append('"').append(kind).append("\": ").append(n));
            b.append(k).append('}');
        });
        return b.append('}').toString();
    }
}
