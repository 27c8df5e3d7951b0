package dev.vmsight.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.vmsight.guests.ExecResult;
import dev.vmsight.guests.Guest;
import dev.vmsight.guests.GuestConfig;
import dev.vmsight.guests.LabInstance;
import dev.vmsight.guests.LabLayout;
import dev.vmsight.guests.LabRootkit;
import dev.vmsight.guests.QemuGuest;
import dev.vmsight.guests.QemuLauncher;
import dev.vmsight.guests.TrainingProgram;
import dev.vmsight.guests.Workload;
import dev.vmsight.jit.train.Training;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent against the real lab rootkit (guests/rootkit) on a lab guest with 20 sleepers: no
 * alert on the clean guest; for each mode (ftrace: a code patch of filldir64; fops: a replaced
 * file_operations pointer) an alert for exactly the hidden sleeper's PID within 2 cycles of
 * loading, and a hook alert naming the patched function or the hooked dispatch; after unloading,
 * both clear. The classic system call table hook (sct) is inert on this kernel: never called,
 * nothing hidden, no alert. Then 5 minutes of process churn on the scheduled agent: no alert. /metrics and
 * /health answer over HTTP, and a real Prometheus server (Debian's package) scrapes /metrics.
 */
@Tag("lab")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 1800)
class AgentRootkitLabTest {
    private static final String NAME = "test-agent";
    private static final Duration EXEC = Duration.ofSeconds(60);

    @TempDir
    static Path dir;

    private LabLayout lab;
    private Path rootkit;
    private Agent agent;
    private boolean booted;
    private final List<Long> sleepers = new ArrayList<>();

    @BeforeAll
    void trainBootAndStart() throws Exception {
        String root = System.getProperty("vmsight.root");
        if (root == null) fail("system property vmsight.root is not set (Surefire sets it to the repository root)");
        lab = LabLayout.at(Path.of(root));
        Training.trainInto(lab, dir.resolve("bundles"), List.of(TrainingProgram.PSLIST, TrainingProgram.GETPSFILE));
        rootkit = lab.buildRootkit(lab.pinnedKernel());
        if (Files.exists(LabInstance.file(lab.runDir(NAME)))) {     // a leftover of an interrupted run, running or not
            try {
                stopGuest();
            } catch (dev.vmsight.guests.GuestException notRunning) {
                // its state file is gone with stopGuest's finally
            }
        }
        GuestConfig config = lab.defaultConfig(NAME, lab.pinnedKernel()).withProcs(20);
        QemuGuest guest = QemuLauncher.start(config);
        new LabInstance(LabInstance.Kind.QEMU, config, null).save();
        booted = true;
        sleepers.addAll(Workload.sleepers(guest));
        assertEquals(20, sleepers.size(), "the workload's sleepers: " + sleepers);
        guest.detach();
        Path toml = dir.resolve("agent.toml");
        Files.writeString(toml, """
                bundles = "bundles"
                symbols = "%s"
                interval = "3s"
                [alerts]
                file = "alerts.jsonl"
                stdout = true
                [metrics]
                listen = "127.0.0.1:0"
                [[guest]]
                name = "lab"
                lab = "%s"
                lab_root = "%s"
                """.formatted(lab.root().resolve(".lab/corpus"), NAME, lab.root()));
        agent = new Agent(AgentConfig.load(toml), System.out);
    }

    @AfterAll
    void stop() {
        if (agent != null) agent.close();
        if (booted) stopGuest();
    }

    private void stopGuest() {
        try {
            LabInstance.attach(lab, NAME).close();
        } finally {
            LabInstance.delete(lab.runDir(NAME));
        }
    }

    private <T> T withGuest(java.util.function.Function<Guest, T> f) {
        Guest g = LabInstance.attach(lab, NAME);
        try {
            return f.apply(g);
        } finally {
            LabInstance.release(g);
        }
    }

    private List<Alert> cycles(int n) {
        List<Alert> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            CycleReport r = agent.cycle("lab");
            System.out.printf("cycle: ok=%s %.1f ms, guest paused %.1f ms, %s; %s%n", r.ok(), r.cycleNanos() / 1e6, r.pauseNanos() / 1e6,
                    agent.status().get("lab").state(), agent.status().get("lab").detail());
            assertTrue(r.ok(), "the cycle ran its monitors: " + agent.status().get("lab"));
            out.addAll(r.alerts());
        }
        return out;
    }

    @Test
    @Order(1)
    void aCleanGuestGivesNoAlert() {
        List<Alert> alerts = cycles(3);
        assertEquals(List.of(), alerts);
        assertEquals("watching", agent.status().get("lab").state());
    }

    @Test
    @Order(2)
    void anFtraceHookOfFilldir64HidesASleeperAndBothAreFoundThenCleared() {
        long pid = sleepers.get(4);
        rootkitRound(pid, LabRootkit.Mode.FTRACE, Alert.Kind.CODE_HOOK, "function", "filldir64");
    }

    @Test
    @Order(3)
    void aReplacedFileOperationsPointerHidesASleeperAndBothAreFoundThenCleared() {
        long pid = sleepers.get(9);
        rootkitRound(pid, LabRootkit.Mode.FOPS, Alert.Kind.DISPATCH_HOOK, "trained_target", "proc_root_readdir");
    }

    private void rootkitRound(long pid, LabRootkit.Mode mode, Alert.Kind hookKind, String detail, String function) {
        withGuest(g -> {
            LabRootkit.load(g, rootkit, (int) pid, mode);
            return null;
        });
        String ls = withGuest(g -> g.exec(EXEC, List.of("/bin/ls", "/proc")).stdoutOrThrow("ls /proc"));
        assertFalse(ls.lines().anyMatch(l -> l.equals(Long.toString(pid))), "the rootkit hides " + pid + " from the guest's own ls");

        List<Alert> raised = cycles(2);
        List<Alert> hidden = raised.stream().filter(a -> a.kind() == Alert.Kind.HIDDEN_PROCESS).toList();
        assertEquals(1, hidden.size(), "one hidden-process alert within 2 cycles: " + raised);
        assertEquals(Alert.State.RAISED, hidden.get(0).state());
        assertEquals(Long.toString(pid), hidden.get(0).details().get("pid"), "exactly the hidden PID");
        assertEquals("vmsleep-" + (sleepers.indexOf(pid) + 1), hidden.get(0).details().get("name"), "its name, read out of the guest");
        List<Alert> hooks = raised.stream().filter(a -> a.kind() == hookKind).toList();
        assertFalse(hooks.isEmpty(), "a " + hookKind + " alert: " + raised);
        assertTrue(hooks.stream().allMatch(a -> a.details().get(detail).startsWith(function)),
                "the hook alert names " + function + ": " + hooks);
        assertEquals(hidden.size() + hooks.size(), raised.size(), "nothing else: " + raised);
        assertEquals(1 + hooks.size(), agent.status().get("lab").hiddenProcesses() + agent.status().get("lab").hooks());

        withGuest(g -> {
            LabRootkit.unload(g);
            return null;
        });
        List<Alert> cleared = cycles(1);
        assertEquals(raised.size(), cleared.size(), "every alert clears after unloading: " + cleared);
        assertTrue(cleared.stream().allMatch(a -> a.state() == Alert.State.CLEARED), cleared.toString());
        assertEquals(0, agent.status().get("lab").hiddenProcesses() + agent.status().get("lab").hooks());
    }

    @Test
    @Order(4)
    void aReplacedSystemCallTableEntryIsNeverCalledHidesNothingAndRaisesNothing() {
        long pid = sleepers.get(14);
        withGuest(g -> {
            LabRootkit.load(g, rootkit, (int) pid, LabRootkit.Mode.SCT);
            return null;
        });
        String ls = withGuest(g -> g.exec(EXEC, List.of("/bin/ls", "/proc")).stdoutOrThrow("ls /proc"));
        assertTrue(ls.lines().anyMatch(l -> l.equals(Long.toString(pid))), "the guest's own ls still lists " + pid);
        assertEquals(0, (int) withGuest(LabRootkit::systemCallTableCalls),
                "no getdents64 reached sys_call_table: 6.1.0-56 dispatches through x64_sys_call");
        assertEquals(List.of(), cycles(2), "nothing hidden, and the monitors' path does not read the table");
        withGuest(g -> {
            LabRootkit.unload(g);
            return null;
        });
    }

    @Test
    @Order(5)
    void fiveMinutesOfChurnGiveNoAlert() throws Exception {
        withGuest(g -> {
            ExecResult r = g.exec(EXEC, List.of("/bin/sh", "-c",
                    // setsid: a background job of the exec'd shell can die with it (seen: churn that never ran, last PID 1295)
                    "setsid /bin/sh -c 'end=$(($(date +%s) + 330)); while [ $(date +%s) -lt $end ]; do /bin/true; /bin/sleep 0; done'"
                            + " </dev/null >/dev/null 2>&1 &"));
            assertEquals(0, r.exitCode(), r.stderr());
            return null;
        });
        int before = agent.alerts().size();
        long cyclesBefore = agent.status().get("lab").cycles();
        agent.start();
        Thread.sleep(Duration.ofMinutes(5).toMillis());
        String metrics = get("/metrics", 200);
        long cycles = agent.status().get("lab").cycles() - cyclesBefore;
        int pids = withGuest(g -> Integer.parseInt(g.exec(EXEC, List.of("/bin/sh", "-c", "echo $$")).stdoutOrThrow("echo $$").strip()));
        System.out.printf("churn: %d cycles in 5 min; the guest's PIDs reached %d%n", cycles, pids);
        assertTrue(pids > 2_000, "thousands of short-lived processes ran (last PID " + pids + ")");
        assertTrue(cycles >= 20, "the scheduled agent kept cycling: " + cycles);
        assertEquals(List.of(), agent.alerts().subList(before, agent.alerts().size()), "no alert under churn");
        assertTrue(metrics.contains("vmsight_cycles_total{guest=\"lab\",result=\"ok\"}"), metrics);
        assertTrue(metrics.contains("vmsight_guest_pause_seconds_bucket"), "pause-time histogram");
        assertTrue(metrics.contains("vmsight_monitor_run_seconds_count{guest=\"lab\",program=\"pslist\"}"), "per-monitor latency");
        assertTrue(Pattern.compile("(?m)^vmsight_alerts_total\\{guest=\"lab\",kind=\"hidden_process\",state=\"raised\"} 2(\\.0)?$")
                .matcher(metrics).find(), "the two rounds' alerts are counted: " + metrics);
        System.out.println(metrics.lines().filter(l -> l.startsWith("vmsight_refusals") || l.startsWith("vmsight_cycles_total")).toList());
        String health = get("/health", -1);
        assertTrue(health.contains("\"lab\""), health);
    }

    @Test
    @Order(6)
    void aPrometheusServerScrapesTheAgent() throws Exception {
        Path prometheus = Path.of("/usr/bin/prometheus");
        assertTrue(Files.isExecutable(prometheus), "Debian's prometheus package is installed (scripts/setup.sh)");
        agent.start();
        int port;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        Path config = dir.resolve("prometheus.yml");
        Files.writeString(config, """
                global:
                  scrape_interval: 1s
                scrape_configs:
                  - job_name: vmsight
                    static_configs:
                      - targets: ['127.0.0.1:%d']
                """.formatted(agent.port()));
        Process p = new ProcessBuilder(prometheus.toString(), "--config.file=" + config, "--storage.tsdb.path=" + dir.resolve("tsdb"),
                "--web.listen-address=127.0.0.1:" + port).redirectErrorStream(true).redirectOutput(dir.resolve("prometheus.log").toFile()).start();
        try {
            String query = "http://127.0.0.1:" + port + "/api/v1/query?query=" + java.net.URLEncoder.encode(
                    "vmsight_cycles_total{job=\"vmsight\",guest=\"lab\",result=\"ok\"}", java.nio.charset.StandardCharsets.UTF_8);
            long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
            String body = "";
            while (System.nanoTime() < deadline) {
                try {
                    body = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(query)).timeout(Duration.ofSeconds(5)).build(),
                            HttpResponse.BodyHandlers.ofString()).body();
                    if (body.contains("\"guest\":\"lab\"")) break;
                } catch (java.io.IOException notYet) {
                    // Prometheus is still starting
                }
                Thread.sleep(1000);
            }
            System.out.println("prometheus: " + body);
            assertTrue(body.contains("\"status\":\"success\"") && body.contains("\"guest\":\"lab\""),
                    "Prometheus scraped vmsight_cycles_total from the agent: " + body + "\n" + Files.readString(dir.resolve("prometheus.log")));
        } finally {
            p.destroy();
            if (!p.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) p.destroyForcibly();
        }
    }

    private String get(String path, int status) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + agent.port() + path)).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
        if (status != -1) assertEquals(status, r.statusCode(), path + ": " + r.body());
        return r.body();
    }
}
