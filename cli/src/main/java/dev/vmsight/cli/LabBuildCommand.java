package dev.vmsight.cli;

import dev.vmsight.guests.KernelPackage;
import dev.vmsight.guests.LabLayout;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Mixin;

/** {@code vmsight lab build}: fetch the kernel and build the guest image (nothing to do when up to date). */
@Command(name = "build", mixinStandardHelpOptions = true,
        description = "Fetch the Debian kernel and build the guest image (.lab/images/<package>/initramfs.cpio.gz).")
final class LabBuildCommand implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Mixin KernelOptions kernelOptions = new KernelOptions();

    @Override
    public Integer call() {
        LabLayout lab = Labs.layout();
        KernelPackage kernel = kernelOptions.resolve(lab);
        long t0 = System.nanoTime();
        Path image = lab.build(kernel);
        spec.commandLine().getOut().println("guest image for " + kernel + ": " + image + " (" + Labs.seconds(System.nanoTime() - t0) + ")");
        return 0;
    }
}
