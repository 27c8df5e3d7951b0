package dev.vmsight.guests;

import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Path;

/**
 * Shared set-up of the QEMU lab tests: the checkout (system property vmsight.root), the pinned
 * kernel and the guest image (built here if its inputs changed; scripts/setup.sh normally did it
 * already). A missing lab is a failure with the command that fixes it, never a skip.
 */
final class QemuLab {

    private QemuLab() {}

    static LabLayout layout() {
        String root = System.getProperty("vmsight.root");
        if (root == null) fail("system property vmsight.root is not set (Surefire sets it to the repository root)");
        return LabLayout.at(Path.of(root));
    }

    /** The image for the pinned kernel, built if needed; fails naming scripts/setup.sh when the lab is missing. */
    static GuestConfig config(String purpose, int procs) {
        LabLayout lab = layout();
        KernelPackage kernel = lab.pinnedKernel();
        try {
            lab.build(kernel);
        } catch (GuestException e) {
            fail("the lab is not set up (run scripts/setup.sh): " + e.getMessage(), e);
        }
        // Test instances have their own names ("test-..."), apart from a developer's running "vmsight".
        String name = "test-" + purpose;
        return lab.defaultConfig(name, kernel).withProcs(procs);
    }
}
