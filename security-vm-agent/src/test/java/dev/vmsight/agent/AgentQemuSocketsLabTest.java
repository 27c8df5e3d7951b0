package dev.vmsight.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.vmsight.guests.GuestConfig;
import dev.vmsight.guests.LabInstance;
import dev.vmsight.guests.LabLayout;
import dev.vmsight.guests.QemuGuest;
import dev.vmsight.guests.QemuLauncher;
import dev.vmsight.guests.QmpClient;
import dev.vmsight.guests.TrainingProgram;
import dev.vmsight.jit.train.Training;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A guest given to the agent by its sockets only (ram_file, qmp, qga), as a plain QEMU user would:
 * the agent watches it, and when someone else stops it over QMP it says so and leaves it stopped.
 */
@Tag("lab")
@Timeout(value = 900)
class AgentQemuSocketsLabTest {
    private static final String NAME = "test-agent-sockets";

    @TempDir
    Path dir;

    @Test
    void aGuestGivenByItsSocketsIsWatchedAndSomeoneElsesStopIsRespected() throws Exception {
        String root = System.getProperty("vmsight.root");
        if (root == null) fail("system property vmsight.root is not set (Surefire sets it to the repository root)");
        LabLayout lab = LabLayout.at(Path.of(root));
        Training.trainInto(lab, dir.resolve("bundles"), List.of(TrainingProgram.PSLIST, TrainingProgram.GETPSFILE));
        GuestConfig config = lab.defaultConfig(NAME, lab.pinnedKernel()).withProcs(20).withKaslr(true);   // a KASLR guest, as distributions boot: bundles trained nokaslr
        try (QemuGuest guest = QemuLauncher.start(config)) {
            Path ram = guest.ramFile(), qmp = guest.runDir().resolve("qmp.sock"), qga = guest.runDir().resolve("qga.sock");
            guest.detach();   // lets go of QMP and qemu-guest-agent: each takes one client, and the agent is that client
            Files.writeString(dir.resolve("agent.toml"), """
                    bundles = "bundles"
                    [alerts]
                    stdout = true
                    [metrics]
                    listen = "127.0.0.1:0"
                    [[guest]]
                    name = "q"
                    ram_file = "%s"
                    qmp = "%s"
                    qga = "%s"
                    """.formatted(ram, qmp, qga));
            try (Agent agent = new Agent(AgentConfig.load(dir.resolve("agent.toml")), System.out)) {
                for (int i = 0; i < 2; i++) {
                    CycleReport r = agent.cycle("q");
                    assertTrue(r.ok(), agent.status().get("q").toString());
                }
                assertEquals("watching", agent.status().get("q").state());
                assertTrue(agent.status().get("q").detail().matches("\\d+ processes out of the guest, \\d+ in its /proc"));
                try (QmpClient c = QmpClient.connect(qmp, Duration.ofSeconds(10))) {
                    c.execute("stop", null, Duration.ofSeconds(10));
                }
                CycleReport stopped = agent.cycle("q");
                assertTrue(!stopped.ok() && agent.status().get("q").state().equals("guest not running"), agent.status().get("q").toString());
                try (QmpClient c = QmpClient.connect(qmp, Duration.ofSeconds(10))) {
                    assertEquals("paused", c.execute("query-status", null, Duration.ofSeconds(10)).path("status").asText(),
                            "the agent left the guest stopped");
                    c.execute("cont", null, Duration.ofSeconds(10));
                }
                assertTrue(agent.cycle("q").ok(), agent.status().get("q").toString());
                assertEquals(List.of(), agent.alerts());
            }
        } finally {
            try {
                QemuLauncher.attach(config).close();
            } catch (RuntimeException alreadyGone) {
                // the guest stopped with the try block
            }
        }
    }
}
