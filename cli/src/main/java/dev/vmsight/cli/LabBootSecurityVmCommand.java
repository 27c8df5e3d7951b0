package dev.vmsight.cli;

import dev.vmsight.agent.SecurityVm;
import dev.vmsight.guests.LabLayout;
import dev.vmsight.guests.TrainingProgram;
import dev.vmsight.jit.train.Training;
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
 * {@code vmsight lab boot-security-vm --watch NAME}: the agent in a security VM of its own, beside
 * running lab guests (security-vm-agent/README.md, "The security VM"). Alerts arrive in the VM's
 * run directory as {@code alerts.jsonl}, one line per cycle in {@code cycles.jsonl}.
 */
@Command(name = "boot-security-vm", mixinStandardHelpOptions = true,
        description = "Boot a security VM whose agent watches running lab guests through the hypervisor (ivshmem, virtio-serial).")
final class LabBootSecurityVmCommand implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Option(names = "--watch", required = true, split = ",", paramLabel = "NAME", description = "the lab guest(s) to watch (booted with vmsight lab boot)")
    List<String> watch;

    @Option(names = "--name", defaultValue = "secvm", description = "the security VM's instance name (default: ${DEFAULT-VALUE}); stop it with vmsight lab stop --name NAME")
    String name;

    @Option(names = "--bundles", paramLabel = "DIR", description = "the monitors (vmsight train output); default: train pslist and getpsfile into .lab/security-vm/bundles (reusing .lab/corpus)")
    Path bundles;

    @Option(names = "--interval", defaultValue = "10", paramLabel = "SECONDS", description = "each guest's cycle interval (default: ${DEFAULT-VALUE} s)")
    int intervalSeconds;

    @Option(names = "--memory", defaultValue = "1024", paramLabel = "MiB", description = "the security VM's RAM (default: ${DEFAULT-VALUE})")
    int memoryMiB;

    @Option(names = "--cpus", defaultValue = "2", description = "the security VM's vCPUs (default: ${DEFAULT-VALUE})")
    int cpus;

    @Option(names = "--java-options", paramLabel = "\"OPTION...\"", description = "the agent's JVM options in the VM, space-separated "
            + "(default: a heap of 3/8 of its RAM, the serial collector, C1 only: -XX:TieredStopAtLevel=1)")
    String javaOptions;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        LabLayout lab = Labs.layout();
        Path b = bundles;
        if (b == null) {
            b = lab.root().resolve(".lab/security-vm/bundles");
            Training.trainInto(lab, b, List.of(TrainingProgram.PSLIST, TrainingProgram.GETPSFILE));
        }
        Path corpus = lab.root().resolve(".lab/corpus");
        List<String> jvm = javaOptions == null ? SecurityVm.defaultJavaOptions(memoryMiB) : List.of(javaOptions.strip().split("\\s+"));
        SecurityVm.Booted vm = SecurityVm.boot(lab, new SecurityVm.Options(name, watch, b, Files.isDirectory(corpus) ? corpus : null,
                Duration.ofSeconds(intervalSeconds), memoryMiB, cpus, SecurityVm.currentClasspath(), jvm));
        vm.vm().detach();
        out.println("security VM '" + name + "' watching " + String.join(", ", watch) + " (QEMU PID " + vm.vm().pid() + ")");
        out.println("  alerts:     " + vm.alerts());
        out.println("  cycles:     " + vm.cycles());
        out.println("  console:    " + vm.serialLog() + " (the agent's log)");
        out.println("  next:       tail -f " + vm.alerts() + "; vmsight lab stop --name " + name);
        return 0;
    }
}
