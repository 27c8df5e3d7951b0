package dev.vmsight.guests.libvirt;

import static org.junit.jupiter.api.Assertions.*;

import dev.vmsight.guests.GuestException;
import dev.vmsight.guests.LabLayout;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** A libvirtd that is down or unreachable gives one line saying how to start it, not a stack trace. */
@Tag("lab") // needs libvirt's client library (libvirt0), installed by scripts/setup.sh
class LibvirtUnreachableTest {
    private static final String BOGUS = "qemu+unix:///system?socket=/nonexistent/libvirt-sock";

    private static void assertOneClearLine(GuestException e) {
        String m = e.getMessage();
        assertTrue(m.startsWith("libvirtd is not running at " + BOGUS + ": start it with scripts/libvirtd-up.sh"), m);
        assertFalse(m.contains("\n"), "one line: " + m);
        assertTrue(m.contains("/nonexistent/libvirt-sock"), "names the socket: " + m);
    }

    @Test
    void startAgainstAMissingSocketSaysHowToStartLibvirtd() {
        var config = LibvirtLab.config(LabLayout.locate(), "unreachable");
        assertOneClearLine(assertThrows(GuestException.class, () -> LibvirtGuest.start(config, BOGUS)));
    }

    @Test
    void attachAgainstAMissingSocketSaysHowToStartLibvirtd() {
        assertOneClearLine(assertThrows(GuestException.class, () -> LibvirtGuest.attach(BOGUS, "whatever")));
    }
}
