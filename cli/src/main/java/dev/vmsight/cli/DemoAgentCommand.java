package dev.vmsight.cli;

import dev.vmsight.agent.Agent;
import dev.vmsight.agent.AgentConfig;
import dev.vmsight.agent.Alert;
import dev.vmsight.agent.CycleReport;
import dev.vmsight.agent.JsonLinesFile;
import dev.vmsight.agent.SecurityVm;
import com.fasterxml.jackson.databind.JsonNode;
import dev.vmsight.guests.Guest;
import dev.vmsight.guests.GuestConfig;
import dev.vmsight.guests.KernelPackage;
import dev.vmsight.guests.LabInstance;
import dev.vmsight.guests.LabLayout;
import dev.vmsight.guests.LabRootkit;
import dev.vmsight.guests.QemuGuest;
import dev.vmsight.guests.QemuLauncher;
import dev.vmsight.guests.TrainingProgram;
import dev.vmsight.guests.Workload;
import dev.vmsight.jit.train.Training;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code vmsight demo-agent}: the agent catching the lab rootkit. Trains pslist and getpsfile
 * (reusing .lab/corpus), boots a lab guest with a workload, starts the agent on it, then for each
 * rootkit mode hides one sleeper from the guest's /proc, runs agent cycles until the alerts come,
 * unloads the rootkit and shows them clear. Alerts are printed as the agent writes them (JSON lines).
 */
@Command(name = "demo-agent", mixinStandardHelpOptions = true,
        description = "Boot a lab guest, start the agent, load the lab rootkit hiding a sleeper (ftrace, then fops): the agent's alerts, then their clearing.")
final class DemoAgentCommand implements Callable<Integer> {
    private static final String NAME = "vmsight-agent-demo";
    private static final Duration EXEC = Duration.ofSeconds(60);

    @Spec CommandSpec spec;

    @Option(names = "--procs", defaultValue = "50", description = "sleepers in the workload (default: ${DEFAULT-VALUE})")
    int procs;

    @Option(names = "--nokaslr", description = "boot the guest without KASLR (default: KASLR on, as distributions boot; the bundles are trained on nokaslr boots)")
    boolean nokaslr;

    @Option(names = "--modes", split = ",", defaultValue = "ftrace,fops", description = "rootkit modes to show, in order (default: ${DEFAULT-VALUE})")
    List<String> modes;

    @Option(names = "--security-vm", description = "run the agent in a security VM of its own (the guest's RAM through ivshmem, QMP and "
            + "qemu-guest-agent through virtio-serial), not in this JVM; its alerts are read from the file its alert port writes")
    boolean securityVm;

    @Override
    public Integer call() throws IOException, InterruptedException {
        PrintWriter out = spec.commandLine().getOut();
        LabLayout lab = Labs.layout();
        KernelPackage kernel = lab.pinnedKernel();
        out.println("vmsight demo-agent: " + kernel + (nokaslr ? ", nokaslr" : ", KASLR") + ", QEMU TCG, workload " + procs + " sleepers");
        long t = System.nanoTime();
        lab.build(kernel);
        Path home = Files.createDirectories(lab.root().resolve(".lab/agent-demo"));
        for (Training.Trained trained : Training.trainInto(lab, home.resolve("bundles"), List.of(TrainingProgram.PSLIST, TrainingProgram.GETPSFILE))) {
            out.printf("  %-58s %s%n", "train " + trained.program().name() + " (" + trained.file().getFileName() + ")",
                    Labs.seconds(trained.stages().stream().mapToLong(Training.Stage::nanos).sum()));
        }
        Path rootkit = lab.buildRootkit(kernel);
        out.printf("  %-58s %s%n", "lab rootkit " + lab.root().relativize(rootkit), "");
        if (Files.exists(LabInstance.file(lab.runDir(NAME)))) stop(lab);
        GuestConfig config = lab.defaultConfig(NAME, kernel).withProcs(procs).withKaslr(!nokaslr);
        long tb = System.nanoTime();
        QemuGuest guest = QemuLauncher.start(config);
        new LabInstance(LabInstance.Kind.QEMU, config, null).save();
        try {
            List<Long> sleepers = Workload.sleepers(guest);
            guest.detach();
            out.printf("  %-58s %s%n", "boot lab guest '" + NAME + "'", Labs.seconds(System.nanoTime() - tb));
            if (securityVm) {
                inSecurityVm(out, lab, home.resolve("bundles"), rootkit, sleepers);
                out.println("total " + Labs.seconds(System.nanoTime() - t));
                return 0;
            }
            Path toml = home.resolve("agent.toml");
            Files.writeString(toml, """
                    # written by vmsight demo-agent
                    bundles = "bundles"
                    symbols = "%s"
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
            try (Agent agent = new Agent(AgentConfig.load(toml), System.out)) {
                out.println("agent: config " + toml + ", metrics http://127.0.0.1:" + agent.port() + "/metrics");
                out.flush();
                cycles(out, agent, 2, "clean guest");
                int k = 0;
                for (String mode : modes) {
                    LabRootkit.Mode rootkitMode = LabRootkit.Mode.parse(mode);
                    long pid = sleepers.get((7 + 5 * k++) % sleepers.size());
                    withGuest(lab, g -> LabRootkit.load(g, rootkit, (int) pid, rootkitMode));
                    String ls = withGuestValue(lab, g -> g.exec(EXEC, List.of("/bin/ls", "/proc")).stdoutOrThrow("ls /proc"));
                    out.println("rootkit (" + rootkitMode.parameter() + ") hides PID " + pid + ": the guest's own ls /proc "
                            + (ls.lines().anyMatch(l -> l.equals(Long.toString(pid))) ? "still lists it (the rootkit failed)" : "no longer lists it"));
                    out.flush();
                    cycles(out, agent, 2, "rootkit loaded");
                    withGuest(lab, LabRootkit::unload);
                    out.println("rootkit unloaded");
                    out.flush();
                    cycles(out, agent, 1, "rootkit unloaded");
                }
                long raised = agent.alerts().stream().filter(a -> a.state() == Alert.State.RAISED).count();
                long cleared = agent.alerts().stream().filter(a -> a.state() == Alert.State.CLEARED).count();
                out.println("agent: " + raised + " alerts raised, " + cleared + " cleared; alerts in " + home.resolve("alerts.jsonl"));
            }
        } finally {
            stop(lab);
        }
        out.println("total " + Labs.seconds(System.nanoTime() - t));
        return 0;
    }

    /** The same story with the agent in a security VM: its cycles and alerts are read from the files its ports write on the host. */
    private void inSecurityVm(PrintWriter out, LabLayout lab, Path bundles, Path rootkit, List<Long> sleepers)
            throws IOException, InterruptedException {
        String vmName = NAME + "-vm";
        if (Files.exists(LabInstance.file(lab.runDir(vmName)))) stopInstance(lab, vmName);
        Files.deleteIfExists(lab.runDir(vmName).resolve("alerts.jsonl"));
        Files.deleteIfExists(lab.runDir(vmName).resolve("cycles.jsonl"));
        long tv = System.nanoTime();
        SecurityVm.Booted vm = SecurityVm.boot(lab, new SecurityVm.Options(vmName, List.of(NAME), bundles, lab.root().resolve(".lab/corpus"),
                Duration.ofSeconds(3), 1024, 2, SecurityVm.currentClasspath()));
        try {
            out.printf("  %-58s %s%n", "boot security VM '" + vmName + "' (the agent inside)", Labs.seconds(System.nanoTime() - tv));
            out.println("security VM: alerts " + vm.alerts() + ", cycles " + vm.cycles() + ", console " + vm.serialLog());
            out.flush();
            JsonLinesFile cycles = new JsonLinesFile(vm.cycles()), alerts = new JsonLinesFile(vm.alerts());
            java.util.function.Consumer<JsonNode> showCycle = c -> {
                out.printf("  cycle in the VM: %.0f ms, guest paused %.0f ms, pslist %s; %s%n", c.path("cycle_ms").asDouble(),
                        c.path("pause_ms").asDouble(), c.path("runs").path("pslist").has("ms")
                                ? String.format("%.1f ms", c.path("runs").path("pslist").path("ms").asDouble()) : "no answer",
                        c.path("state").asText());
                out.flush();
            };
            java.util.function.Consumer<JsonNode> showAlert = a -> {
                out.println(a.toString());
                out.flush();
            };
            expect(cycles.await(c -> c.path("ok").asBoolean(), 2, Duration.ofMinutes(4), showCycle), "two cycles of the agent in the VM", vm);
            int k = 0;
            for (String mode : modes) {
                LabRootkit.Mode rootkitMode = LabRootkit.Mode.parse(mode);
                long pid = sleepers.get((7 + 5 * k++) % sleepers.size());
                withGuest(lab, g -> LabRootkit.load(g, rootkit, (int) pid, rootkitMode));
                out.println("rootkit (" + rootkitMode.parameter() + ") hides PID " + pid);
                out.flush();
                String key = "pid:" + pid;
                expect(alerts.await(a -> a.path("key").asText().equals(key) && a.path("state").asText().equals("raised"), 1,
                        Duration.ofMinutes(3), showAlert), "the hidden process alert for PID " + pid, vm);
                withGuest(lab, LabRootkit::unload);
                out.println("rootkit unloaded");
                out.flush();
                expect(alerts.await(a -> a.path("key").asText().equals(key) && a.path("state").asText().equals("cleared"), 1,
                        Duration.ofMinutes(2), showAlert), "PID " + pid + "'s alert to clear", vm);
            }
            Thread.sleep(2 * 3000L);        // one more cycle: the hook alerts clear with the hidden process or right after
            alerts.await(a -> false, 1, Duration.ZERO, showAlert);
            long raised = alerts.lines().stream().filter(a -> a.path("state").asText().equals("raised")).count();
            long cleared = alerts.lines().stream().filter(a -> a.path("state").asText().equals("cleared")).count();
            out.println("security VM agent: " + raised + " alerts raised, " + cleared + " cleared; alerts in " + vm.alerts());
        } finally {
            try {
                vm.vm().close();     // through the connection this process holds (a second QMP client would wait behind it)
            } finally {
                LabInstance.delete(lab.runDir(vmName));
            }
        }
    }

    private static void expect(List<JsonNode> hits, String what, SecurityVm.Booted vm) {
        if (hits.isEmpty()) {
            throw new dev.vmsight.guests.GuestException("the security VM gave no " + what + " in time; its console ends with: "
                    + String.join(" | ", LabLayout.tail(vm.serialLog(), 5)));
        }
    }

    private static void cycles(PrintWriter out, Agent agent, int n, String what) {
        for (int i = 0; i < n; i++) {
            CycleReport r = agent.cycle("lab");
            var s = agent.status().get("lab");
            out.printf("  cycle (%s): %.0f ms, guest paused %.0f ms; %s: %s%n", what, r.cycleNanos() / 1e6, r.pauseNanos() / 1e6,
                    s.state(), s.detail());
            out.flush();
        }
    }

    private static void withGuest(LabLayout lab, java.util.function.Consumer<Guest> f) {
        withGuestValue(lab, g -> {
            f.accept(g);
            return null;
        });
    }

    private static <T> T withGuestValue(LabLayout lab, java.util.function.Function<Guest, T> f) {
        Guest g = LabInstance.attach(lab, NAME);
        try {
            return f.apply(g);
        } finally {
            LabInstance.release(g);
        }
    }

    private static void stop(LabLayout lab) {
        stopInstance(lab, NAME);
    }

    private static void stopInstance(LabLayout lab, String name) {
        try {
            LabInstance.attach(lab, name).close();
        } catch (RuntimeException e) {
            // already gone
        } finally {
            LabInstance.delete(lab.runDir(name));
        }
    }
}
