package dev.vmsight.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vmsight.guests.WatchChannels;
import dev.vmsight.jit.run.RunOutcome;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the security VM's agent is configured with (written by SecurityVm, read by AgentConfig), and the cycle lines it sends out. */
class SecurityVmConfigTest {
    @TempDir
    Path dir;

    @Test
    void theVmsConfigurationReadsBackAsIvshmemDevicesAndPortsInSlotOrder() throws IOException {
        SecurityVm.Options o = new SecurityVm.Options("secvm", List.of("a", "b"), dir, null, Duration.ofSeconds(5), 1024, 2, List.of(dir));
        String toml = SecurityVm.agentToml(o, List.of(new WatchChannels("a", Path.of("/r/a"), 1L << 28, Path.of("/q"), Path.of("/g")),
                new WatchChannels("b", Path.of("/r/b"), 1L << 30, Path.of("/q2"), Path.of("/g2"))));
        Files.createDirectories(dir.resolve("bundles"));
        Path f = dir.resolve("agent.toml");
        Files.writeString(f, toml);
        AgentConfig c = AgentConfig.load(f);
        assertEquals(Path.of("/dev/virtio-ports/vmsight.alerts"), c.alertsFile());
        assertEquals(Path.of("/dev/virtio-ports/vmsight.cycles"), c.cyclesFile());
        assertEquals(Duration.ofSeconds(5), c.interval());
        assertEquals(Duration.ofMillis(SecurityVm.BUDGET_MS), c.budget(), "TCG: a budget for a slower JVM");
        assertEquals(new AgentConfig.Access.Qemu(Path.of("/sys/bus/pci/devices/0000:00:10.0/resource2"),
                Path.of("/dev/virtio-ports/vmsight.a.qmp"), Path.of("/dev/virtio-ports/vmsight.a.qga")), c.guests().get(0).access());
        assertEquals(new AgentConfig.Access.Qemu(Path.of("/sys/bus/pci/devices/0000:00:11.0/resource2"),
                Path.of("/dev/virtio-ports/vmsight.b.qmp"), Path.of("/dev/virtio-ports/vmsight.b.qga")), c.guests().get(1).access());
    }

    @Test
    void theJvmOptionsAreOneWordEachAndDefaultToC1WithAHeapOfThreeEighths() {
        assertEquals(List.of("-Xmx384m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData",
                "-Dorg.slf4j.simpleLogger.showDateTime=true"), SecurityVm.defaultJavaOptions(1024));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new SecurityVm.Options("v", List.of("g"), dir, null,
                Duration.ofSeconds(5), 1024, 2, List.of(dir), List.of("-Xmx1g -XX:+UseG1GC")));
        assertTrue(e.getMessage().contains("one word"), e.getMessage());
    }

    @Test
    void anIvshmemAddressThatIsNoPciAddressIsRefused() throws IOException {
        Files.createDirectories(dir.resolve("bundles"));
        Path f = dir.resolve("agent.toml");
        Files.writeString(f, """
                bundles = "bundles"
                [[guest]]
                name = "g"
                ivshmem = "../../etc"
                qmp = "/dev/virtio-ports/q"
                qga = "/dev/virtio-ports/g"
                """);
        String e = assertThrows(AgentConfig.AgentConfigException.class, () -> AgentConfig.load(f)).getMessage();
        assertTrue(e.contains("'g'") && e.contains("not a PCI address"), e);
        Files.writeString(f, """
                bundles = "bundles"
                [[guest]]
                name = "g"
                ivshmem = "0000:00:10.0"
                ram_file = "/dev/shm/x"
                qmp = "q"
                qga = "g"
                """);
        e = assertThrows(AgentConfig.AgentConfigException.class, () -> AgentConfig.load(f)).getMessage();
        assertTrue(e.contains("exactly one of"), e);
    }

    @Test
    void aCycleLineHoldsStateTimesAndEachRunsOutcome() throws IOException {
        Map<String, RunOutcome> outcomes = new LinkedHashMap<>();
        outcomes.put("pslist", new RunOutcome.Answered(null, "jit", 1000, 1500));
        outcomes.put("getpsfile 101", new RunOutcome.OverBudget("budget", 10, 30_000));
        CycleReport r = new CycleReport(true, 170_000_000L, 95_500_000L, outcomes, List.of());
        GuestStatus s = new GuestStatus("watching", "74 processes", Instant.EPOCH, 3, 1, 0);
        JsonNode line = new ObjectMapper().readTree(CycleLog.line("w1", r, s, Clock.fixed(Instant.parse("2026-12-06T15:00:00Z"), ZoneOffset.UTC)));
        assertEquals("2026-12-06T15:00:00Z", line.path("time").asText());
        assertEquals("w1", line.path("guest").asText());
        assertEquals("watching", line.path("state").asText());
        assertEquals(170.0, line.path("cycle_ms").asDouble(), 1e-9);
        assertEquals(95.5, line.path("pause_ms").asDouble(), 1e-9);
        assertEquals(1.5, line.path("runs").path("pslist").path("ms").asDouble(), 1e-9);
        assertEquals("budget", line.path("runs").path("getpsfile 101").path("refused").asText());
        assertEquals(1, line.path("hidden_processes").asInt());
    }
}
