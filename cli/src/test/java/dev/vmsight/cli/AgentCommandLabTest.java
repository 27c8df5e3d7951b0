package dev.vmsight.cli;

import static dev.vmsight.cli.CliRun.vmsight;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.vmsight.guests.Guest;
import dev.vmsight.guests.LabInstance;
import dev.vmsight.guests.LabLayout;
import dev.vmsight.guests.TrainingProgram;
import dev.vmsight.jit.train.Training;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code vmsight agent --config FILE} as a separate process, the way systemd runs it: it watches
 * a lab guest (/health), says so in status and metrics when the guest's qemu-guest-agent goes away
 * (and alerts on nothing), and stops on SIGTERM within the unit's stop timeout, leaving the guest
 * running.
 */
@Tag("lab")
@Timeout(value = 900)
class AgentCommandLabTest {
    private static final String NAME = "test-agent-cli";

    @TempDir
    Path dir;

    @Test
    void theAgentProcessWatchesSaysWhenTheGuestAgentIsGoneAndStopsOnSigterm() throws Exception {
        String root = System.getProperty("vmsight.root");
        if (root == null) fail("system property vmsight.root is not set (Surefire sets it to the repository root)");
        LabLayout lab = LabLayout.at(Path.of(root));
        Training.trainInto(lab, dir.resolve("bundles"), List.of(TrainingProgram.PSLIST, TrainingProgram.GETPSFILE));
        if (Files.exists(LabInstance.file(lab.runDir(NAME)))) vmsight("lab", "stop", "--name", NAME);
        CliRun.Run boot = vmsight("lab", "boot", "--name", NAME, "--procs", "10");
        assertEquals(0, boot.exit(), boot.err());
        Process agent = null;
        try {
            int port;
            try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
                port = s.getLocalPort();
            }
            Files.writeString(dir.resolve("agent.toml"), """
                    bundles = "bundles"
                    interval = "1s"
                    [alerts]
                    file = "alerts.jsonl"
                    [metrics]
                    listen = "127.0.0.1:%d"
                    [[guest]]
                    name = "lab"
                    lab = "%s"
                    lab_root = "%s"
                    """.formatted(port, NAME, lab.root()));
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            agent = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), "dev.vmsight.cli.Vmsight", "agent",
                    "--config", dir.resolve("agent.toml").toString())
                    .redirectErrorStream(true).redirectOutput(dir.resolve("agent.log").toFile()).start();
            String health = await(port, "/health", h -> h.contains("\"state\" : \"watching\""), Duration.ofSeconds(120), dir);

            // the guest's qemu-guest-agent goes away: the cross-view pauses, says so, alerts on nothing
            Guest g = LabInstance.attach(lab, NAME);
            try {
                g.exec(Duration.ofSeconds(30), List.of("/bin/sh", "-c", "(sleep 1; kill $(pidof qemu-ga)) >/dev/null 2>&1 &"));
            } finally {
                LabInstance.release(g);
            }
            health = await(port, "/health", h -> h.contains("guest agent unreachable"), Duration.ofSeconds(120), dir);
            String metrics = await(port, "/metrics", m -> m.contains("vmsight_guest_agent_up{guest=\"lab\"} 0"), Duration.ofSeconds(30), dir);
            assertTrue(!Files.exists(dir.resolve("alerts.jsonl")) || Files.readString(dir.resolve("alerts.jsonl")).isBlank(),
                    "no alert without the guest's own view");

            // SIGTERM: a graceful stop within the systemd unit's TimeoutStopSec, the guest left running
            agent.destroy();
            assertTrue(agent.waitFor(90, TimeUnit.SECONDS), "the agent stopped on SIGTERM");
            String log = Files.readString(dir.resolve("agent.log"));
            assertTrue(log.contains("agent stopped"), log);
            Guest after = LabInstance.attach(lab, NAME);
            try {
                assertTrue(after.running(), "the agent left the guest running");
            } finally {
                LabInstance.release(after);
            }
            System.out.println(health + "\n" + metrics.lines().filter(l -> l.startsWith("vmsight_guest_agent_up")).toList());
        } finally {
            if (agent != null && agent.isAlive()) agent.destroyForcibly();
            vmsight("lab", "stop", "--name", NAME);
        }
    }

    private static String await(int port, String path, Predicate<String> done, Duration timeout, Path dir) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        String body = "";
        while (System.nanoTime() < deadline) {
            try {
                body = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                        .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString()).body();
                if (done.test(body)) return body;
            } catch (java.io.IOException notYet) {
                // the agent is still starting
            }
            Thread.sleep(500);
        }
        fail(path + " did not become what was expected within " + timeout.toSeconds() + " s: " + body + "\n"
                + Files.readString(dir.resolve("agent.log")));
        return body;
    }
}
