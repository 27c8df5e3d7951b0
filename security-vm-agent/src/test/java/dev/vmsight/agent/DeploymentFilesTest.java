package dev.vmsight.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The deployment files of security-vm-agent/deploy hold together: the systemd unit, the DaemonSet with its ConfigMap, the example config. */
class DeploymentFilesTest {
    @TempDir
    Path dir;

    private static Path deploy() {
        String root = System.getProperty("vmsight.root");
        if (root == null) fail("system property vmsight.root is not set (Surefire sets it to the repository root)");
        return Path.of(root, "security-vm-agent", "deploy");
    }

    /** Parses an agent config whose paths name production folders, with its bundles folder replaced by a temporary one. */
    private AgentConfig parse(String toml) throws IOException {
        Path bundles = Files.createDirectories(dir.resolve("bundles"));
        String local = toml.replaceAll("(?m)^bundles = \".*\"$", "bundles = \"" + bundles + "\"");
        Path f = dir.resolve("agent.toml");
        Files.writeString(f, local);
        return AgentConfig.load(f);
    }

    @Test
    void theSystemdUnitVerifiesAndRunsTheAgentWithAGracefulStop() throws Exception {
        Path unit = deploy().resolve("vmsight-agent.service");
        Process p = new ProcessBuilder("systemd-analyze", "verify", unit.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), "systemd-analyze verify: " + out);
        assertEquals("", out.strip(), "no warnings from systemd-analyze verify");
        String text = Files.readString(unit);
        assertTrue(text.contains("\nExecStart=/usr/bin/java ") && text.contains(" agent --config /etc/vmsight/agent.toml\n"), text);
        assertTrue(text.contains("\nKillSignal=SIGTERM\n"));
    }

    @Test
    void theExampleConfigIsValid() throws IOException {
        AgentConfig c = parse(Files.readString(deploy().resolve("agent.example.toml")));
        assertEquals(2, c.guests().size());
        assertEquals("127.0.0.1", c.metricsHost(), "metrics on loopback by default");
    }

    @Test
    void theDaemonSetMountsTheLibvirtSocketAndRunsTheConfigMapsConfig() throws IOException {
        List<JsonNode> docs = new ArrayList<>();
        try (var it = new YAMLMapper().readerFor(JsonNode.class).<JsonNode>readValues(deploy().resolve("daemonset.yaml").toFile())) {
            it.forEachRemaining(docs::add);
        }
        assertEquals(2, docs.size());
        JsonNode map = docs.get(0), ds = docs.get(1);
        assertEquals("ConfigMap", map.path("kind").asText());
        assertEquals("DaemonSet", ds.path("kind").asText());
        AgentConfig c = parse(map.path("data").path("agent.toml").asText());
        JsonNode pod = ds.path("spec").path("template").path("spec");
        JsonNode agent = pod.path("containers").get(0);
        assertEquals(List.of("agent", "--config", "/etc/vmsight/agent.toml"), strings(agent.path("args")));
        assertEquals(c.metricsPort(), agent.path("ports").get(0).path("containerPort").asInt(), "the container port is the agent's metrics port");
        assertEquals("/health", agent.path("readinessProbe").path("httpGet").path("path").asText());
        boolean config = false, libvirt = false;
        for (JsonNode m : agent.path("volumeMounts")) {
            String volume = m.path("name").asText();
            JsonNode source = null;
            for (JsonNode v : pod.path("volumes")) if (v.path("name").asText().equals(volume)) source = v;
            assertTrue(source != null, "volume " + volume + " is declared");
            if (m.path("mountPath").asText().equals("/etc/vmsight")) {
                config = source.path("configMap").path("name").asText().equals(map.path("metadata").path("name").asText());
            }
            if (m.path("mountPath").asText().equals("/var/run/libvirt")) {
                libvirt = source.path("hostPath").path("path").asText().equals("/var/run/libvirt");
            }
        }
        assertTrue(config, "the ConfigMap is mounted where --config reads it");
        assertTrue(libvirt, "the node's libvirt socket folder is mounted (qemu:///system)");
        assertEquals(ds.path("spec").path("selector").path("matchLabels"), ds.path("spec").path("template").path("metadata").path("labels"));
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }
}
