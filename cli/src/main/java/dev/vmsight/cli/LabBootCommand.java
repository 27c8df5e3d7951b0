package dev.vmsight.cli;

import dev.vmsight.guests.LabInstance;

import dev.vmsight.guests.Guest;
import dev.vmsight.guests.GuestConfig;
import dev.vmsight.guests.GuestException;
import dev.vmsight.guests.KernelPackage;
import dev.vmsight.guests.LabLayout;
import dev.vmsight.guests.QemuGuest;
import dev.vmsight.guests.QemuLauncher;
import dev.vmsight.guests.libvirt.LibvirtGuest;
import java.nio.file.Files;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code vmsight lab boot}: boot the lab guest and leave it running for the other lab commands. */
@Command(name = "boot", mixinStandardHelpOptions = true,
        description = "Boot the lab guest (QEMU TCG, or a libvirt domain) and leave it running in the background.")
final class LabBootCommand implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Option(names = "--name", defaultValue = Labs.DEFAULT_NAME, description = "instance name (default: ${DEFAULT-VALUE})")
    String name;

    @Option(names = "--libvirt", description = "start it as a libvirt domain instead of a QEMU process")
    boolean libvirt;

    @Option(names = "--uri", defaultValue = Labs.DEFAULT_URI, description = "libvirt URI (default: ${DEFAULT-VALUE})")
    String uri;

    @Option(names = "--kaslr", description = "boot with KASLR (default: nokaslr)")
    boolean kaslr;

    @Option(names = "--procs", defaultValue = "" + LabLayout.DEFAULT_PROCS, description = "sleeper processes the workload starts (default: ${DEFAULT-VALUE})")
    int procs;

    @Option(names = "--cpus", defaultValue = "1", description = "vCPUs, 1 to 8 (default: ${DEFAULT-VALUE})")
    int cpus;

    @Option(names = "--cpu", paramLabel = "MODEL", defaultValue = GuestConfig.DEFAULT_CPU_MODEL,
            description = "QEMU CPU model, any TCG runs (qemu-system-x86_64 -cpu help), e.g. Skylake-Server-v4 (default: ${DEFAULT-VALUE})")
    String cpuModel;

    @Option(names = "--memory", paramLabel = "MiB", defaultValue = "" + LabLayout.DEFAULT_MEMORY_MIB, description = "guest RAM in MiB (default: ${DEFAULT-VALUE})")
    int memory;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "120", description = "how long to wait for readiness (default: ${DEFAULT-VALUE})")
    int timeoutSeconds;

    @Mixin KernelOptions kernelOptions = new KernelOptions();

    @Override
    public Integer call() {
        LabLayout lab = Labs.layout();
        KernelPackage kernel = kernelOptions.resolve(lab);
        refuseIfRunning(lab);
        lab.build(kernel);
        GuestConfig config = lab.defaultConfig(name, kernel).withKaslr(kaslr).withProcs(procs).withCpus(cpus).withMemoryMiB(memory)
                .withCpuModel(cpuModel);

        long t0 = System.nanoTime();
        Guest guest = libvirt ? LibvirtGuest.start(config, uri) : QemuLauncher.start(config, Duration.ofSeconds(timeoutSeconds));
        long ready = System.nanoTime() - t0;
        try {
            new LabInstance(libvirt ? LabInstance.Kind.LIBVIRT : LabInstance.Kind.QEMU, config, libvirt ? uri : null).save();
        } catch (GuestException e) {
            guest.close();
            throw e;
        }
        String how = guest instanceof QemuGuest q ? "QEMU PID " + q.pid() : "libvirt domain " + config.name() + " at " + uri;
        spec.commandLine().getOut().println("lab guest '" + name + "' ready in " + Labs.seconds(ready) + " (" + how + ", " + kernel
                + (kaslr ? ", KASLR" : ", nokaslr") + ", " + cpus + " vCPU " + cpuModel + ", " + memory + " MiB, " + procs + " sleepers)");
        spec.commandLine().getOut().println("  RAM file:   " + guest.ramFile());
        spec.commandLine().getOut().println("  run files:  " + config.runDir());
        spec.commandLine().getOut().println("  next:       vmsight lab exec -- /training/pslist; vmsight lab stop");
        Labs.release(guest);
        return 0;
    }

    /** A recorded instance that still runs is an error; a stale record (its guest died) is replaced. */
    private void refuseIfRunning(LabLayout lab) {
        if (!Files.exists(LabInstance.file(lab.runDir(name)))) return;
        Guest running;
        try {
            running = Labs.attach(lab, name);
        } catch (GuestException stale) {
            LabInstance.delete(lab.runDir(name));
            return;
        }
        Labs.release(running);
        throw new GuestException("lab guest '" + name + "' is already running (" + LabInstance.file(lab.runDir(name))
                + "); stop it with 'vmsight lab stop" + (name.equals(Labs.DEFAULT_NAME) ? "" : " --name " + name)
                + "' or use --name");
    }
}
