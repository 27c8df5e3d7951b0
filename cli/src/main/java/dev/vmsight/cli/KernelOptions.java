package dev.vmsight.cli;

import dev.vmsight.guests.KernelPackage;
import dev.vmsight.guests.LabLayout;
import picocli.CommandLine.Option;

/** --abi / --flavor: which Debian kernel package (default: the one pinned in scripts/lab.env). */
final class KernelOptions {

    @Option(names = "--abi", paramLabel = "N", description = "Debian kernel ABI (default: pinned in scripts/lab.env)")
    String abi;

    @Option(names = "--flavor", paramLabel = "FLAVOR", description = "amd64, cloud-amd64 or rt-amd64 (default: pinned)")
    String flavor;

    KernelPackage resolve(LabLayout lab) {
        KernelPackage pinned = lab.pinnedKernel();
        if (abi == null && flavor == null) return pinned;
        return KernelPackage.of(abi == null ? String.valueOf(pinned.abi()) : abi, flavor == null ? pinned.flavor() : flavor);
    }
}
