package dev.vmsight.guests.libvirt;

import static org.junit.jupiter.api.Assertions.*;

import dev.vmsight.guests.GuestConfig;
import dev.vmsight.guests.LabLayout;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/** Shared set-up of the libvirt lab tests: libvirtd through scripts/libvirtd-up.sh, a lab guest config. */
final class LibvirtLab {
    static final String URI = "qemu:///system";

    private LibvirtLab() {
    }

    /** Runs scripts/libvirtd-up.sh (idempotent) and fails the test with its output if it fails. */
    static void libvirtdUp(LabLayout lab) {
        try {
            Process p = new ProcessBuilder(lab.root().resolve("scripts/libvirtd-up.sh").toString())
                    .redirectErrorStream(true).start();
            boolean done = p.waitFor(90, TimeUnit.SECONDS);
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!done) p.destroyForcibly();
            assertTrue(done && p.exitValue() == 0, "scripts/libvirtd-up.sh failed: " + out);
        } catch (IOException e) {
            fail("cannot run scripts/libvirtd-up.sh: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            fail("interrupted");
        }
    }

    /** The default lab guest (pinned kernel, built image, 256 MiB, nokaslr), named uniquely per JVM. */
    static GuestConfig config(LabLayout lab, String what) {
        return lab.defaultConfig("vmsight-" + what + "-" + ProcessHandle.current().pid());
    }
}
