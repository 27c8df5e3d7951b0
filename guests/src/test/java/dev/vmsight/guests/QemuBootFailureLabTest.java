package dev.vmsight.guests;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Boots that go wrong: each is one clear error, and the QEMU that was started is gone (checked by PID). */
@Tag("lab")
@Timeout(value = 120)
class QemuBootFailureLabTest {

    private static void assertGone(GuestBootException e, Path ram) {
        long pid = e.qemuPid().orElseThrow(() -> new AssertionError("QEMU was started, the exception must name its PID: " + e));
        assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "QEMU PID " + pid + " survived a failed boot");
        assertFalse(Files.exists(ram), "RAM file left behind: " + ram);
    }

    /** Killed mid-boot when not ready in time; the message carries the serial log's tail. */
    @Test
    void notReadyInTimeKillsQemuAndShowsTheSerialLog() {
        GuestConfig config = QemuLab.config("slow", 2);
        GuestBootException e = assertThrows(GuestBootException.class, () -> QemuLauncher.start(config, Duration.ofSeconds(3)));
        assertTrue(e.getMessage().contains("did not become ready within 3 s"), e.getMessage());
        assertTrue(e.getMessage().contains("serial log " + config.runDir().resolve("serial.log") + " ends with: "), e.getMessage());
        assertGone(e, Path.of("/dev/shm/vmsight-" + config.name() + ".ram"));
    }

    /**
     * An image whose /init runs but never prints the readiness line (killed mid-way, with the
     * kernel and userland up): the message quotes what the guest last printed.
     */
    @Test
    void initThatNeverGetsReadyIsKilledAfterTheTimeout() throws IOException, InterruptedException {
        GuestConfig good = QemuLab.config("hang", 2);
        Path tree = Files.createDirectories(good.runDir().resolve("hang-image"));
        Files.createDirectories(tree.resolve("bin"));
        Files.createDirectories(tree.resolve("dev"));
        Files.copy(Path.of("/bin/busybox"), tree.resolve("bin/busybox"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.deleteIfExists(tree.resolve("bin/sh"));
        Files.createSymbolicLink(tree.resolve("bin/sh"), Path.of("busybox"));
        Path init = tree.resolve("init");
        Files.writeString(init, "#!/bin/sh\n/bin/busybox mount -t devtmpfs dev /dev\n"
                + "echo 'vmsight-test: this init never gets ready' > /dev/console\nexec /bin/busybox sleep 1000\n");
        init.toFile().setExecutable(true);
        Path image = good.runDir().resolve("hang.cpio");
        Process cpio = new ProcessBuilder("sh", "-c", "find . | cpio -o -H newc -R 0:0 --quiet > " + image)
                .directory(tree.toFile()).inheritIO().start();
        assertTrue(cpio.waitFor(30, java.util.concurrent.TimeUnit.SECONDS) && cpio.exitValue() == 0, "cpio built the test image");

        GuestConfig config = new GuestConfig(good.name(), good.kernel(), image, good.memoryMiB(), 1, false, 2, good.runDir());
        GuestBootException e = assertThrows(GuestBootException.class, () -> QemuLauncher.start(config, Duration.ofSeconds(30)));
        assertTrue(e.getMessage().contains("did not become ready within 30 s"), e.getMessage());
        assertTrue(e.getMessage().contains("vmsight-test: this init never gets ready"), "the serial tail: " + e.getMessage());
        assertGone(e, Path.of("/dev/shm/vmsight-" + config.name() + ".ram"));
    }

    /** An initramfs that is not one: the kernel panics, QEMU exits (-no-reboot), the error says so at once. */
    @Test
    void kernelPanicIsReportedWithoutWaitingForTheTimeout() throws IOException {
        GuestConfig good = QemuLab.config("panic", 2);
        Path junk = Files.createDirectories(good.runDir()).resolve("not-an-initramfs");
        Files.writeString(junk, "this is not a cpio archive\n");
        GuestConfig config = new GuestConfig(good.name(), good.kernel(), junk, good.memoryMiB(), 1, false, 2, good.runDir());
        long start = System.nanoTime();
        GuestBootException e = assertThrows(GuestBootException.class, () -> QemuLauncher.start(config, Duration.ofSeconds(100)));
        assertTrue(System.nanoTime() - start < Duration.ofSeconds(90).toNanos(), "noticed the exit before the timeout");
        assertTrue(e.getMessage().contains("exited during boot"), e.getMessage());
        assertTrue(e.getMessage().contains("the kernel panicked: Kernel panic - not syncing: VFS: Unable to mount root fs"),
                "the message quotes the panic: " + e.getMessage());
        assertGone(e, Path.of("/dev/shm/vmsight-" + config.name() + ".ram"));
    }

    /** RAM that /dev/shm cannot hold is refused before QEMU starts (it would die of SIGBUS mid-boot). */
    @Test
    void ramLargerThanDevShmIsRefused() {
        GuestConfig config = QemuLab.config("huge", 1).withMemoryMiB(64 * 1024 * 1024);
        GuestException e = assertThrows(GuestException.class, () -> QemuLauncher.start(config));
        assertFalse(e instanceof GuestBootException, "refused before starting QEMU");
        assertTrue(e.getMessage().startsWith("not enough space in /dev/shm for the guest's RAM file"), e.getMessage());
    }

    /** A kernel package that was never fetched is named, with the command that fetches it. */
    @Test
    void missingKernelPackageIsNamed() {
        LabLayout lab = QemuLab.layout();
        GuestException e = assertThrows(GuestException.class, () -> lab.defaultConfig("x", KernelPackage.of("47", "rt-amd64")));
        assertTrue(e.getMessage().contains("kernel package linux-image-6.1.0-47-rt-amd64 is missing"), e.getMessage());
        assertTrue(e.getMessage().contains("scripts/fetch-kernel.sh linux-image-6.1.0-47-rt-amd64"), e.getMessage());
    }

    /** An ABI Debian does not serve: fetch-kernel.sh's one-line error comes through. */
    @Test
    void unknownAbiIsReportedByTheFetcher() {
        LabLayout lab = QemuLab.layout();
        GuestException e = assertThrows(GuestException.class, () -> lab.build(KernelPackage.of("9999", "amd64")));
        assertTrue(e.getMessage().startsWith("fetch-kernel: Debian serves no package 'linux-image-6.1.0-9999-amd64'"), e.getMessage());
        assertFalse(Files.exists(lab.kernelDir(KernelPackage.of("9999", "amd64"))), "no half-made kernel directory");
    }
}
