package dev.vmsight.guests.libvirt;

import static org.junit.jupiter.api.Assertions.*;

import dev.vmsight.guests.GuestConfig;
import dev.vmsight.guests.LabLayout;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.libvirt.Connect;
import org.libvirt.Domain;
import org.libvirt.LibvirtException;

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

    /**
     * Destroys and undefines domains these tests left behind in a JVM that was killed (names end
     * in the PID of a JVM that no longer runs), so a crashed run does not hold RAM and CPU forever.
     */
    static void removeStaleTestDomains() {
        try {
            Connect c = new Connect(URI);
            try {
                List<Domain> domains = new ArrayList<>();
                for (int id : c.listDomains()) domains.add(c.domainLookupByID(id));
                for (String name : c.listDefinedDomains()) domains.add(c.domainLookupByName(name));
                for (Domain d : domains) {
                    Matcher m = TEST_DOMAIN.matcher(d.getName());
                    if (!m.matches() || ProcessHandle.of(Long.parseLong(m.group(1))).isPresent()) continue;
                    System.out.println("removing stale test domain " + d.getName());
                    if (d.isActive() == 1) d.destroy();
                    d.undefine();
                }
            } finally {
                c.close();
            }
        } catch (LibvirtException e) {
            fail("cannot list domains at " + URI + ": " + e.getMessage());
        }
    }

    private static final Pattern TEST_DOMAIN = Pattern.compile("vmsight-(?:lvguest|unreachable)-(\\d+)");

    /** The default lab guest (pinned kernel, built image, 256 MiB, nokaslr), named uniquely per JVM. */
    static GuestConfig config(LabLayout lab, String what) {
        return lab.defaultConfig("vmsight-" + what + "-" + ProcessHandle.current().pid());
    }
}
