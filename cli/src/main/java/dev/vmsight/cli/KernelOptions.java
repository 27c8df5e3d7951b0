package dev.vmsight.cli;

import dev.vmsight.guests.KernelPackage;
import dev.vmsight.guests.LabLayout;
import picocli.CommandLine.Option;

/** --kernel, or --abi / --flavor: which Debian kernel package (default: the one pinned in scripts/lab.env). */
final class KernelOptions {

    @Option(names = "--abi", paramLabel = "N", description = "Debian kernel ABI (default: pinned in scripts/lab.env)")
    String abi;

    @Option(names = "--flavor", paramLabel = "FLAVOR", description = "amd64, cloud-amd64 or rt-amd64 (default: pinned)")
    String flavor;

    @Option(names = "--kernel", paramLabel = "PACKAGE",
            description = "any Debian kernel image package, e.g. linux-image-6.12.118+deb12-amd64-unsigned (apt-cache search linux-image-6.)")
    String kernel;

    KernelPackage resolve(LabLayout lab) {
        if (kernel != null) {
            if (abi != null || flavor != null) throw new dev.vmsight.guests.GuestException("--kernel names the package: give it or --abi/--flavor, not both");
            return KernelPackage.parse(kernel);
        }
        KernelPackage pinned = lab.pinnedKernel();
        if (abi == null && flavor == null) return pinned;
        if (abi == null) return pinned.withFlavor(flavor);
        return KernelPackage.of(abi, flavor == null ? "amd64" : flavor);
    }
}
