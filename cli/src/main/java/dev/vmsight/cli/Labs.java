package dev.vmsight.cli;

import dev.vmsight.guests.Guest;
import dev.vmsight.guests.GuestException;
import dev.vmsight.guests.LabLayout;
import dev.vmsight.guests.QemuGuest;
import dev.vmsight.guests.QemuLauncher;
import dev.vmsight.guests.libvirt.LibvirtGuest;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;

/** What the lab commands share: finding the checkout, attaching to the running instance, letting go of it. */
public final class Labs {

    static final String DEFAULT_NAME = "vmsight";
    static final String DEFAULT_URI = "qemu:///system";

    private Labs() {}

    /** The checkout: vmsight.root / VMSIGHT_ROOT, else the one this jar was built in, else above the working directory. */
    public static LabLayout layout() {
        if (System.getProperty("vmsight.root") == null && System.getenv("VMSIGHT_ROOT") == null) {
            try {
                Path jar = Path.of(Labs.class.getProtectionDomain().getCodeSource().getLocation().toURI());
                // <root>/cli/target/vmsight.jar
                Path root = jar.getParent() == null ? null : jar.getParent().getParent();
                root = root == null ? null : root.getParent();
                if (root != null && Files.isRegularFile(root.resolve("scripts/lab.env"))) return LabLayout.at(root);
            } catch (URISyntaxException | SecurityException e) {
                // fall through to the working directory
            }
        }
        return LabLayout.locate();
    }

    /** The running lab guest {@code name}, as {@code vmsight lab boot} recorded it. */
    public static Guest attach(LabLayout lab, String name) {
        LabState state = LabState.load(lab.runDir(name), name);
        return switch (state.kind()) {
            case QEMU -> QemuLauncher.attach(state.config());
            case LIBVIRT -> LibvirtGuest.attach(state.uri(), state.config().name());
        };
    }

    /** Closes this side's connections; the guest keeps running. */
    public static void release(Guest guest) {
        if (guest instanceof QemuGuest q) {
            q.detach();
        } else if (guest instanceof LibvirtGuest l) {
            l.disconnect();
        } else {
            throw new GuestException("unknown kind of guest: " + guest.getClass().getName());
        }
    }

    static String seconds(long nanos) {
        return String.format("%.2f s", nanos / 1e9);
    }
}
