package dev.vmsight.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import dev.vmsight.guests.Guest;
import dev.vmsight.guests.GuestConfig;
import dev.vmsight.guests.LabInstance;
import dev.vmsight.guests.LabLayout;
import dev.vmsight.guests.LabRootkit;
import dev.vmsight.guests.QemuGuest;
import dev.vmsight.guests.QemuLauncher;
import dev.vmsight.guests.TrainingProgram;
import dev.vmsight.guests.Workload;
import dev.vmsight.jit.run.RunOutcome;
import dev.vmsight.jit.train.Training;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent's end-to-end check, run from inside a security VM: a KASLR lab guest with 20 sleepers,
 * a second QEMU guest running the agent (its RAM through ivshmem, QMP and qemu-guest-agent through
 * virtio-serial ports), the lab rootkit hiding one sleeper. The alerts are read where a user reads
 * them: the file the VM's alert port writes on the host. No alert on the clean guest; the hidden
 * sleeper's PID (and the filldir64 code hook) within 2 cycles of loading; both cleared after
 * unloading; when the watched guest's QEMU is stopped, cycles report it unreachable and raise
 * nothing. The VM's monitor latency is printed beside the host's for the same bundle.
 */
@Tag("lab")
@Timeout(value = 1200)
class SecurityVmLabTest {
    private static final String GUEST = "test-watched";
    private static final String VM = "test-secvm";
    private static final Duration INTERVAL = Duration.ofSeconds(4);

    @TempDir
    Path dir;

    @Test
    void theAgentInASecurityVmCatchesTheRootkitAndClearsAfterUnload() throws Exception {
        String root = System.getProperty("vmsight.root");
        if (root == null) fail("system property vmsight.root is not set (Surefire sets it to the repository root)");
        LabLayout lab = LabLayout.at(Path.of(root));
        Path bundles = dir.resolve("bundles");
        Training.trainInto(lab, bundles, List.of(TrainingProgram.PSLIST, TrainingProgram.GETPSFILE));
        Path rootkit = lab.buildRootkit(lab.pinnedKernel());
        for (String leftover : List.of(VM, GUEST)) stopIfRecorded(lab, leftover);

        GuestConfig config = lab.defaultConfig(GUEST, lab.pinnedKernel()).withProcs(20).withKaslr(true);
        QemuGuest guest = QemuLauncher.start(config);
        new LabInstance(LabInstance.Kind.QEMU, config, null).save();
        try {
            List<Long> sleepers = Workload.sleepers(guest);
            assertEquals(20, sleepers.size(), "the workload's sleepers: " + sleepers);
            guest.detach();
            double hostMs = hostPslistMillis(lab, bundles);

            Files.deleteIfExists(lab.runDir(VM).resolve("alerts.jsonl"));
            Files.deleteIfExists(lab.runDir(VM).resolve("cycles.jsonl"));
            SecurityVm.Booted vm = SecurityVm.boot(lab, new SecurityVm.Options(VM, List.of(GUEST), bundles,
                    lab.root().resolve(".lab/corpus"), INTERVAL, 1024, 2, SecurityVm.currentClasspath()));
            try {
                // a clean guest: three cycles that ran their monitors, no alert
                awaitLines(vm.cycles(), l -> l.path("ok").asBoolean(), 3, Duration.ofMinutes(4), vm);
                assertEquals(List.of(), lines(vm.alerts()), "alerts on a clean guest");

                long hidden = sleepers.get(sleepers.size() / 2);
                Instant loaded = Instant.now();
                withGuest(lab, g -> LabRootkit.load(g, rootkit, (int) hidden, LabRootkit.Mode.FTRACE));
                JsonNode raised = awaitLines(vm.alerts(), a -> a.path("kind").asText().equals("hidden_process")
                        && a.path("state").asText().equals("raised"), 1, Duration.ofMinutes(3), vm).get(0);
                assertEquals("pid:" + hidden, raised.path("key").asText(), "the hidden sleeper, and only it: " + raised);
                long started = cyclesStartedBetween(vm.cycles(), loaded, Instant.parse(raised.path("time").asText()));
                assertTrue(started <= 2, "the alert came in the " + started + "th cycle that started after loading, not within 2");
                assertTrue(lines(vm.alerts()).stream().anyMatch(a -> a.path("kind").asText().equals("code_hook")
                                && a.path("summary").asText().contains("filldir64")),
                        "a code hook alert at filldir64: " + lines(vm.alerts()));

                withGuest(lab, g -> LabRootkit.unload(g));
                awaitLines(vm.alerts(), a -> a.path("key").asText().equals("pid:" + hidden) && a.path("state").asText().equals("cleared"),
                        1, Duration.ofMinutes(2), vm);
                awaitLines(vm.alerts(), a -> a.path("kind").asText().equals("code_hook") && a.path("state").asText().equals("cleared"),
                        1, Duration.ofMinutes(2), vm);
                assertTrue(lines(vm.alerts()).stream().filter(a -> a.path("kind").asText().equals("hidden_process"))
                        .allMatch(a -> a.path("key").asText().equals("pid:" + hidden)), "no other PID alerted: " + lines(vm.alerts()));

                // the watched guest goes away: its ports close for good, the agent says so, and raises nothing
                int alertsBefore = lines(vm.alerts()).size();
                int cyclesBefore = lines(vm.cycles()).size();
                LabInstance.attach(lab, GUEST).close();
                LabInstance.delete(lab.runDir(GUEST));
                List<JsonNode> lost = awaitLines(vm.cycles(), c -> !c.path("ok").asBoolean(), 1, Duration.ofMinutes(2), vm);
                assertEquals("waiting for the guest", lost.get(0).path("state").asText(), lost.get(0).toString());
                awaitLines(vm.cycles(), c -> true, cyclesBefore + 3, Duration.ofMinutes(2), vm);
                assertEquals(alertsBefore, lines(vm.alerts()).size(), "no alert once the guest is gone: " + lines(vm.alerts()));

                List<Double> vmMs = new ArrayList<>();
                for (JsonNode c : lines(vm.cycles()).subList(2, lines(vm.cycles()).size())) {
                    JsonNode p = c.path("runs").path("pslist");
                    if (p.path("answered").asBoolean()) vmMs.add(p.path("ms").asDouble());
                }
                vmMs.sort(null);
                System.out.printf("pslist, same bundle, same guest (20 sleepers): host JVM %.2f ms, security VM (TCG) %.2f ms median over %d"
                        + " warm cycles (%.0fx)%n", hostMs, vmMs.get(vmMs.size() / 2), vmMs.size(), vmMs.get(vmMs.size() / 2) / hostMs);
            } finally {
                try {
                    vm.vm().close();
                } finally {
                    LabInstance.delete(lab.runDir(VM));
                }
            }
        } finally {
            stopIfRecorded(lab, GUEST);
        }
    }

    /** The host's figure: the same bundle run by an agent in this JVM, its median pslist time over 5 cycles after 2 warm-up ones. */
    private double hostPslistMillis(LabLayout lab, Path bundles) throws IOException {
        Path toml = dir.resolve("host-agent.toml");
        Files.writeString(toml, """
                bundles = "bundles"
                [alerts]
                stdout = false
                [metrics]
                listen = "127.0.0.1:0"
                [[guest]]
                name = "host"
                lab = "%s"
                lab_root = "%s"
                monitors = ["pslist"]
                """.formatted(GUEST, lab.root()));
        List<Double> ms = new ArrayList<>();
        try (Agent agent = new Agent(AgentConfig.load(toml), null)) {
            for (int i = 0; i < 7; i++) {
                CycleReport r = agent.cycle("host");
                assertTrue(r.ok(), "the host agent's cycle: " + agent.status().get("host"));
                if (i >= 2 && r.outcomes().get("pslist") instanceof RunOutcome.Answered a) ms.add(a.micros() / 1e3);
            }
        }
        ms.sort(null);
        return ms.get(ms.size() / 2);
    }

    /** Cycles (cycles.jsonl) that started after {@code from} and ended by {@code to} (a line's time is its end). */
    private static long cyclesStartedBetween(Path cycles, Instant from, Instant to) {
        return lines(cycles).stream().filter(c -> {
            Instant end = Instant.parse(c.path("time").asText());
            Instant start = end.minusNanos((long) (c.path("cycle_ms").asDouble() * 1e6));
            return start.isAfter(from) && !start.isAfter(to);
        }).count();
    }

    private static List<JsonNode> awaitLines(Path file, Predicate<JsonNode> which, int count, Duration timeout, SecurityVm.Booted vm)
            throws InterruptedException {
        List<JsonNode> hits = new JsonLinesFile(file).await(which, count, timeout, l -> { });
        if (hits.isEmpty()) {
            fail("waited " + timeout.toSeconds() + " s for " + count + " matching line(s) in " + file + "; it holds " + lines(file)
                    + "; the VM's console ends with: " + String.join(" | ", LabLayout.tail(vm.serialLog(), 8)));
        }
        return hits;
    }

    private static List<JsonNode> lines(Path file) {
        return new JsonLinesFile(file).lines();
    }

    private static void withGuest(LabLayout lab, java.util.function.Consumer<Guest> f) {
        Guest g = LabInstance.attach(lab, GUEST);
        try {
            f.accept(g);
        } finally {
            LabInstance.release(g);
        }
    }

    private static void stopIfRecorded(LabLayout lab, String name) {
        if (!Files.exists(LabInstance.file(lab.runDir(name)))) return;
        try {
            LabInstance.attach(lab, name).close();
        } catch (RuntimeException gone) {
            // not running any more
        } finally {
            LabInstance.delete(lab.runDir(name));
        }
    }
}
