package dev.vmsight.guests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CPU model a lab's guests present: qemu64 unless a layout names another, carried through withKernel. */
class LabLayoutTest {

    @TempDir
    Path root;

    private LabLayout lab(KernelPackage kernel) throws Exception {
        Files.createDirectories(root.resolve("scripts"));
        Files.writeString(root.resolve("scripts/lab.env"), "VMSIGHT_KERNEL_ABI=56\nVMSIGHT_KERNEL_FLAVOR=amd64\n");
        Files.createDirectories(root.resolve(".lab/kernels").resolve(kernel.packageName()));
        Files.writeString(root.resolve(".lab/kernels").resolve(kernel.packageName()).resolve("vmlinuz"), "");
        Files.createDirectories(root.resolve(".lab/images").resolve(kernel.packageName()));
        Files.writeString(root.resolve(".lab/images").resolve(kernel.packageName()).resolve("initramfs.cpio.gz"), "");
        return LabLayout.at(root);
    }

    @Test
    void guestsAreOfTheLayoutsCpuModel() throws Exception {
        KernelPackage k = KernelPackage.of("56", "amd64");
        LabLayout lab = lab(k);
        String configured = System.getenv("VMSIGHT_CPU_MODEL");
        String expected = configured == null || configured.isBlank() ? GuestConfig.DEFAULT_CPU_MODEL : configured.strip();
        assertEquals(expected, lab.cpuModel());
        assertEquals(expected, lab.defaultConfig("t", k).cpuModel());
        LabLayout skylake = lab.withCpuModel("Skylake-Server-v4");
        assertEquals("Skylake-Server-v4", skylake.defaultConfig("t", k).cpuModel());
        KernelPackage cloud = k.withFlavor("cloud-amd64");
        lab(cloud);
        assertEquals("Skylake-Server-v4", skylake.withKernel(cloud).cpuModel(), "withKernel keeps the model");
        assertEquals(cloud, skylake.withKernel(cloud).pinnedKernel());
    }

    @Test
    void aModelThatIsNoQemuNameIsRefusedWhenAGuestIsConfigured() throws Exception {
        KernelPackage k = KernelPackage.of("56", "amd64");
        LabLayout lab = lab(k).withCpuModel("host,+vmx; rm -rf /");
        assertThrows(IllegalArgumentException.class, () -> lab.defaultConfig("t", k));
    }
}
