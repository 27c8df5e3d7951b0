package dev.vmsight.guests;

import java.nio.file.Path;

/**
 * Run by {@link QemuShutdownHookLabTest} in a separate JVM: boots a guest named by args[1] in the
 * checkout args[0] and never closes it, so only the shutdown hook can stop QEMU.
 */
public final class BootInChildJvm {

    private BootInChildJvm() {}

    public static void main(String[] args) {
        LabLayout lab = LabLayout.at(Path.of(args[0]));
        QemuGuest guest = QemuLauncher.start(lab.defaultConfig(args[1]).withProcs(1));
        System.out.println("ready " + guest.pid());
        System.out.flush();
        System.exit(0); // no close(): the hook must stop QEMU
    }
}
