package dev.vmsight.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.vmsight.guests.Guest;
import dev.vmsight.guests.GuestConfig;
import dev.vmsight.guests.LabInstance;
import dev.vmsight.guests.LabLayout;
import dev.vmsight.guests.LabRootkit;
import dev.vmsight.guests.TrainingProgram;
import dev.vmsight.guests.Workload;
import dev.vmsight.guests.libvirt.LibvirtGuest;
import dev.vmsight.jit.train.Training;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The scheduled agent keeps working through what happens to guests: a libvirt lab domain with a
 * rootkit hiding a sleeper is paused by someone else (the agent leaves it paused), libvirtd is
 * restarted, the guest reboots (the rootkit is gone, its alerts clear; loaded again, it is found
 * again), and the domain is destroyed, undefined and created again. No crash, no alert but the
 * expected ones, and the status says what the agent waits for. Lab domains stop on a reboot
 * ({@code <on_reboot>destroy</on_reboot>}, so that a panicking kernel stops), so the reboot here
 * is a hard one: virsh destroy, then virsh start (a new boot of the same domain).
 */
@Tag("lab")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 1200)
class AgentRecoveryLabTest {
    private static final String NAME = "test-agent-recovery";
    private static final String URI = "qemu:///system";
    private static final Duration EXEC = Duration.ofSeconds(60);

    @TempDir
    static Path dir;

    private LabLayout lab;
    private GuestConfig config;
    private Path rootkit;
    private Agent agent;
    private boolean booted;

    @BeforeAll
    void trainBootAndStart() throws IOException {
        String root = System.getProperty("vmsight.root");
        if (root == null) fail("system property vmsight.root is not set (Surefire sets it to the repository root)");
        lab = LabLayout.at(Path.of(root));
        Training.trainInto(lab, dir.resolve("bundles"), List.of(TrainingProgram.PSLIST, TrainingProgram.GETPSFILE));
        rootkit = lab.buildRootkit(lab.pinnedKernel());
        if (Files.exists(LabInstance.file(lab.runDir(NAME)))) stopGuest();
        config = lab.defaultConfig(NAME, lab.pinnedKernel()).withProcs(10);
        LibvirtGuest guest = LibvirtGuest.start(config, URI);
        new LabInstance(LabInstance.Kind.LIBVIRT, config, URI).save();
        booted = true;
        guest.disconnect();
        Path toml = dir.resolve("agent.toml");
        Files.writeString(toml, """
                bundles = "bundles"
                symbols = "%s"
                interval = "2s"
                [alerts]
                file = "alerts.jsonl"
                [metrics]
                listen = "127.0.0.1:0"
                [[guest]]
                name = "lab"
                lab = "%s"
                lab_root = "%s"
                """.formatted(lab.root().resolve(".lab/corpus"), NAME, lab.root()));
        agent = new Agent(AgentConfig.load(toml), System.out);
        agent.start();
    }

    @AfterAll
    void stop() {
        if (agent != null) agent.close();
        if (booted) stopGuest();
    }

    private void stopGuest() {
        try {
            LabInstance.attach(lab, NAME).close();
        } catch (RuntimeException e) {
            virsh(false, "destroy", NAME);
            virsh(false, "undefine", NAME);
        } finally {
            LabInstance.delete(lab.runDir(NAME));
        }
    }

    @Test
    void theAgentRecoversFromPauseLibvirtdRestartRebootAndRecreation() throws Exception {
        awaitState("watching", Duration.ofSeconds(60));
        long a = sleeper(2);
        withGuest(g -> LabRootkit.load(g, rootkit, (int) a, LabRootkit.Mode.FTRACE));
        awaitAlert(Alert.Kind.HIDDEN_PROCESS, Alert.State.RAISED, "pid:" + a, Duration.ofSeconds(30));
        int afterRaise = agent.alerts().size();

        // someone else pauses the guest: the agent says so and does not resume it
        virsh(true, "suspend", NAME);
        awaitState("guest not running", Duration.ofSeconds(30));
        Thread.sleep(5000);
        assertEquals("paused", virsh(true, "domstate", NAME).strip(), "the agent left the guest paused");
        virsh(true, "resume", NAME);
        awaitState("watching", Duration.ofSeconds(30));

        // libvirtd restarts under the agent
        restartLibvirtd();
        awaitState("watching", Duration.ofSeconds(90));
        assertEquals(afterRaise, agent.alerts().size(), "pause and libvirtd restart changed no alert: "
                + agent.alerts().subList(afterRaise, agent.alerts().size()));

        // a reboot without the rootkit: its alerts clear; loaded again, it is found again
        virsh(true, "destroy", NAME);
        virsh(true, "start", NAME);
        awaitAlert(Alert.Kind.HIDDEN_PROCESS, Alert.State.CLEARED, "pid:" + a, Duration.ofSeconds(120));
        awaitAlert(Alert.Kind.CODE_HOOK, Alert.State.CLEARED, "code:0xffffffff813824d0", Duration.ofSeconds(30));
        awaitState("watching", Duration.ofSeconds(60));
        long b = sleeper(6);
        withGuest(g -> LabRootkit.load(g, rootkit, (int) b, LabRootkit.Mode.FTRACE));
        awaitAlert(Alert.Kind.HIDDEN_PROCESS, Alert.State.RAISED, "pid:" + b, Duration.ofSeconds(30));

        // destroy and re-create: the agent waits, then watches the new domain
        virsh(true, "destroy", NAME);
        virsh(true, "undefine", NAME);
        awaitState("waiting for the guest", Duration.ofSeconds(30));
        LibvirtGuest.start(config, URI).disconnect();
        awaitAlert(Alert.Kind.HIDDEN_PROCESS, Alert.State.CLEARED, "pid:" + b, Duration.ofSeconds(180));
        awaitState("watching", Duration.ofSeconds(60));

        Set<String> expected = Set.of("pid:" + a, "pid:" + b, "code:0xffffffff813824d0");
        List<Alert> unexpected = agent.alerts().stream().filter(x -> !expected.contains(x.key())).toList();
        assertEquals(List.of(), unexpected, "no false alert through pause, restart, reboot and re-creation");
        System.out.println("alerts: " + agent.alerts().stream().map(x -> x.state() + " " + x.key()).toList());
    }

    private long sleeper(int index) {
        return withGuestValue(Workload::sleepers).get(index);
    }

    private void awaitState(String state, Duration timeout) throws InterruptedException {
        await(() -> agent.status().get("lab").state().equals(state), timeout, "state '" + state + "'");
    }

    private void awaitAlert(Alert.Kind kind, Alert.State state, String key, Duration timeout) throws InterruptedException {
        Predicate<Alert> match = x -> x.kind() == kind && x.state() == state && x.key().equals(key);
        await(() -> agent.alerts().stream().anyMatch(match), timeout, state + " " + kind + " " + key);
    }

    private void await(java.util.function.BooleanSupplier done, Duration timeout, String what) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("no " + what + " within " + timeout.toSeconds() + " s; status " + agent.status().get("lab") + "; alerts "
                        + agent.alerts().stream().map(x -> x.state() + " " + x.key()).toList());
            }
            Thread.sleep(500);
        }
    }

    private void withGuest(java.util.function.Consumer<Guest> f) {
        withGuestValue(g -> {
            f.accept(g);
            return null;
        });
    }

    private <T> T withGuestValue(java.util.function.Function<Guest, T> f) {
        Guest g = LabInstance.attach(lab, NAME);
        try {
            return f.apply(g);
        } finally {
            LabInstance.release(g);
        }
    }

    private void restartLibvirtd() throws Exception {
        if (Files.isDirectory(Path.of("/run/systemd/system"))) {
            run(List.of("systemctl", "restart", "libvirtd"));
            return;
        }
        run(List.of("pkill", "-x", "libvirtd"));
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (new ProcessBuilder("pgrep", "-x", "libvirtd").start().waitFor() == 0) {
            if (System.nanoTime() > deadline) fail("libvirtd did not stop within 30 s");
            Thread.sleep(200);
        }
        Thread.sleep(3000);   // cycles meet no libvirtd
        run(List.of(lab.root().resolve("scripts/libvirtd-up.sh").toString()));
    }

    private static String virsh(boolean check, String... args) {
        List<String> cmd = new ArrayList<>(List.of("virsh", "-c", URI));
        cmd.addAll(List.of(args));
        try {
            return run(cmd);
        } catch (AssertionError | Exception e) {
            if (check) throw new AssertionError("virsh " + String.join(" ", args) + ": " + e.getMessage(), e);
            return "";
        }
    }

    private static String run(List<String> cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS)) fail(cmd + " did not finish");
        if (p.exitValue() != 0) fail(cmd + " exited " + p.exitValue() + ": " + out);
        return out;
    }
}
