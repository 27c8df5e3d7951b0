package dev.vmsight.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AgentConfigTest {
    @TempDir
    Path dir;

    private AgentConfig load(String toml) throws IOException {
        Files.createDirectories(dir.resolve("bundles"));
        Path f = dir.resolve("agent.toml");
        Files.writeString(f, toml);
        return AgentConfig.load(f);
    }

    private String error(String toml) {
        return assertThrows(AgentConfig.AgentConfigException.class, () -> load(toml)).getMessage();
    }

    @Test
    void aFullConfigWithDefaults() throws IOException {
        AgentConfig c = load("""
                bundles = "bundles"
                interval = "5s"
                [alerts]
                file = "log/alerts.jsonl"
                [metrics]
                listen = "127.0.0.1:0"
                [[guest]]
                name = "web-1"
                libvirt = "qemu:///system"
                domain = "web-1"
                interval = "500ms"
                [[guest]]
                name = "lab"
                lab = "vmsight"
                monitors = ["pslist"]
                [[guest]]
                name = "plain-qemu"
                ram_file = "/dev/shm/guest.ram"
                qmp = "run/qmp.sock"
                qga = "run/qga.sock"
                pause = false
                """);
        assertEquals(dir.resolve("bundles"), c.bundles(), "relative to the config file");
        assertEquals(dir.resolve("log/alerts.jsonl"), c.alertsFile());
        assertEquals(2, c.hiddenAfter());
        assertEquals(0, c.metricsPort());
        assertEquals(3, c.guests().size());
        assertEquals(new AgentConfig.Access.Qemu(Path.of("/dev/shm/guest.ram"), dir.resolve("run/qmp.sock"), dir.resolve("run/qga.sock")),
                c.guests().get(2).access());
        assertTrue(!c.guests().get(2).pause() && c.guests().get(0).pause(), "pause defaults to true");
        assertEquals(new AgentConfig.Access.Libvirt("qemu:///system", "web-1"), c.guests().get(0).access());
        assertEquals(Duration.ofMillis(500), c.guests().get(0).interval());
        assertEquals(AgentConfig.DEFAULT_MONITORS, c.guests().get(0).monitors());
        assertEquals(Duration.ofSeconds(5), c.guests().get(1).interval(), "the top-level interval is the default");
        assertEquals(List.of("pslist"), c.guests().get(1).monitors());
        assertEquals(new AgentConfig.Access.Lab(null, "vmsight"), c.guests().get(1).access(), "no lab_root: the checkout vmsight runs from");
    }

    @Test
    void errorsNameTheKey() {
        String guest = "\n[[guest]]\nname = \"a\"\nlab = \"x\"\n";
        assertTrue(error("bundles = \"bundles\"\nintervall = \"5s\"" + guest).contains("unknown key 'intervall'"));
        assertTrue(error("bundles = \"nowhere\"" + guest).contains("bundles = \"nowhere\" is not a directory"));
        assertTrue(error("bundles = \"bundles\"\ninterval = \"5 parsecs\"" + guest).contains("interval must be a duration"));
        assertTrue(error("bundles = \"bundles\"\nhidden_after = 0" + guest).contains("hidden_after must be an integer from 1"));
        assertTrue(error("bundles = \"bundles\"\n[metrics]\nlisten = \"9464\"" + guest).contains("metrics.listen"));
        assertTrue(error("bundles = \"bundles\"").contains("no [[guest]] table"));
        assertTrue(error("bundles = \"bundles\"\n[[guest]]\nname = \"a\"").contains("'a' needs exactly one of lab"));
        assertTrue(error("bundles = \"bundles\"\n[[guest]]\nname = \"a\"\nlibvirt = \"qemu:///system\"").contains("[[guest]] 'a' missing key 'domain'"));
        assertTrue(error("bundles = \"bundles\"\n[[guest]]\nname = \"a\"\nram_file = \"r\"\nqmp = \"q\"").contains("[[guest]] 'a' missing key 'qga'"));
        assertTrue(error("bundles = \"bundles\"\n[[guest]]\nname = \"a\"\nram_file = \"r\"\nlab = \"x\"").contains("needs exactly one of"));
        assertTrue(error("bundles = \"bundles\"\n[[guest]]\nname = \"a\"\nlab = \"x\"\nmonitors = [\"ps\"]").contains("unknown program 'ps'"));
        assertTrue(error("bundles = \"bundles\"\n[[guest]]\nname = \"a\"\nlab = \"x\"\nmonitors = [\"lsmod\"]").contains("must include pslist"));
        assertTrue(error("bundles = \"bundles\"\n[[guest]]\nlab = \"x\"").contains("[[guest]] missing key 'name'"));
        assertTrue(error("bundles = \"bundles\"" + guest + guest).contains("two [[guest]] tables are named 'a'"));
        assertTrue(error("bundles = [").contains("is not valid TOML"));
    }
}
