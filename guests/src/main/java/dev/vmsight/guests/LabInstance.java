package dev.vmsight.guests;

import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

/**
 * A lab guest that {@code vmsight lab boot} left running, recorded in
 * .lab/run/&lt;name&gt;/state.properties so that later commands (and monitors, tests, the agent)
 * attach to it by name: which launcher (QEMU or libvirt), the configuration, the libvirt URI.
 */
public record LabInstance(Kind kind, GuestConfig config, String uri) {

    /** How the instance was started: a QEMU lab guest, a libvirt domain, or a security VM (QEMU, no guest agent: it watches others). */
    public enum Kind { QEMU, LIBVIRT, SECURITY_VM }

    /** The running lab guest {@code name}, as {@code vmsight lab boot} recorded it. */
    public static Guest attach(LabLayout lab, String name) {
        LabInstance state = load(lab.runDir(name), name);
        return switch (state.kind()) {
            case QEMU, SECURITY_VM -> QemuLauncher.attach(state.config());
            case LIBVIRT -> dev.vmsight.guests.libvirt.LibvirtGuest.attach(state.uri(), state.config().name());
        };
    }

    /** Closes this side's connections to {@code guest}; the guest keeps running. */
    public static void release(Guest guest) {
        if (guest instanceof QemuGuest q) {
            q.detach();
        } else if (guest instanceof dev.vmsight.guests.libvirt.LibvirtGuest l) {
            l.disconnect();
        } else {
            throw new GuestException("unknown kind of guest: " + guest.getClass().getName());
        }
    }

    /** The state file of the instance whose run directory is {@code runDir}. */
    public static Path file(Path runDir) {
        return runDir.resolve("state.properties");
    }

    /** Records this instance (written by 'vmsight lab boot'). */
    public void save() {
        Properties p = new Properties();
        p.setProperty("kind", kind.name().toLowerCase(java.util.Locale.ROOT));
        p.setProperty("name", config.name());
        p.setProperty("kernel", config.kernel().toString());
        p.setProperty("initramfs", config.initramfs().toString());
        p.setProperty("memoryMiB", String.valueOf(config.memoryMiB()));
        p.setProperty("cpus", String.valueOf(config.cpus()));
        p.setProperty("kaslr", String.valueOf(config.kaslr()));
        p.setProperty("cpuModel", config.cpuModel());
        p.setProperty("procs", String.valueOf(config.procs()));
        p.setProperty("dentryHashEntries", String.valueOf(config.dentryHashEntries()));
        p.setProperty("runDir", config.runDir().toString());
        if (uri != null) p.setProperty("uri", uri);
        Path f = file(config.runDir());
        try {
            Files.createDirectories(config.runDir());
            try (Writer w = Files.newBufferedWriter(f)) {
                p.store(w, "vmsight lab instance (written by 'vmsight lab boot')");
            }
        } catch (IOException e) {
            throw new GuestException("cannot write " + f + ": " + e.getMessage(), e);
        }
    }

    /** The state of instance {@code name}, or an error saying that no such lab guest was booted. */
    public static LabInstance load(Path runDir, String name) {
        Path f = file(runDir);
        if (!Files.isRegularFile(f)) {
            throw new GuestException("no lab guest '" + name + "' is running (no " + f + "; start one with 'vmsight lab boot')");
        }
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(f)) {
            p.load(r);
            Kind kind = Kind.valueOf(p.getProperty("kind", "").toUpperCase(java.util.Locale.ROOT));
            GuestConfig config = new GuestConfig(p.getProperty("name"), Path.of(p.getProperty("kernel")),
                    Path.of(p.getProperty("initramfs")), Integer.parseInt(p.getProperty("memoryMiB")),
                    Integer.parseInt(p.getProperty("cpus")), Boolean.parseBoolean(p.getProperty("kaslr")),
                    Integer.parseInt(p.getProperty("procs")), Path.of(p.getProperty("runDir")),
                    p.getProperty("cpuModel", GuestConfig.DEFAULT_CPU_MODEL),
                    Integer.parseInt(p.getProperty("dentryHashEntries", "0")));
            return new LabInstance(kind, config, p.getProperty("uri"));
        } catch (IOException | RuntimeException e) {
            throw new GuestException("unreadable lab state " + f + " (" + e.getMessage() + "); remove it and boot again", e);
        }
    }

    /** Forgets the instance (its guest stopped). */
    public static void delete(Path runDir) {
        try {
            Files.deleteIfExists(file(runDir));
        } catch (IOException e) {
            throw new GuestException("cannot remove " + file(runDir) + ": " + e.getMessage(), e);
        }
    }
}
