package dev.vmsight.guests;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * Boots lab guests under QEMU TCG, or attaches to one booted earlier (by another vmsight process).
 *
 * <p>The QEMU process is started with its RAM in a shared file, QMP, gdbstub and qemu-ga on unix
 * sockets and the serial console in a file, all named after the instance. A guest is ready when
 * its /init printed the readiness line and qemu-guest-agent answered guest-sync. Whatever goes
 * wrong on the way, the QEMU process that was started is killed before the exception leaves.
 */
public final class QemuLauncher {

    /** Ample for TCG on a busy 2-core machine; an idle one boots in about 6 s. */
    public static final Duration DEFAULT_READY_TIMEOUT = Duration.ofSeconds(120);
    static final String QEMU = "qemu-system-x86_64";
    /** What the image's /init prints on the serial console (guests/image/init); both launchers wait for it. */
    public static final String READY = "VMSIGHT-READY";
    public static final String FAILED = "VMSIGHT-FAILED";

    private QemuLauncher() {}

    public static QemuGuest start(GuestConfig config) {
        return start(config, DEFAULT_READY_TIMEOUT);
    }

    /** Boots {@code config} and waits until it is ready, at most {@code readyTimeout}. */
    public static QemuGuest start(GuestConfig config, Duration readyTimeout) {
        RunFiles files = new RunFiles(config.runDir().toAbsolutePath(), LabLayout.checkName(config.name()));
        checkInputs(config, files);
        checkRamSpace(config, files);
        return launch(config, files, commandLine(config, files), readyTimeout, true);
    }

    /**
     * Boots a security VM (guests/security-vm): {@code config}'s kernel and initramfs (the base
     * image with the boot's own archive appended), no guest agent, no gdbstub. Each watched
     * guest's RAM file becomes a read-only ivshmem-plain device at PCI slot 0x10, 0x11, ... in
     * {@code watched}'s order, and its second QMP monitor and guest agent become the ports
     * {@code vmsight.GUEST.qmp} and {@code vmsight.GUEST.qga}. They do not reconnect: when the
     * guest's QEMU exits they close for good, since the ivshmem device would go on mapping the old
     * RAM file while a new guest of the same name answered on the sockets (the agent would list
     * the dead guest's processes as hidden ones). What the VM writes to the ports {@code vmsight.alerts} and
     * {@code vmsight.cycles} is appended to {@code alerts} and {@code cycles} on the host.
     */
    public static QemuGuest startSecurityVm(GuestConfig config, List<WatchChannels> watched, Path alerts, Path cycles,
                                            Duration readyTimeout) {
        RunFiles files = new RunFiles(config.runDir().toAbsolutePath(), LabLayout.checkName(config.name()));
        checkInputs(config, files);
        for (Path p : List.of(alerts.toAbsolutePath(), cycles.toAbsolutePath())) {
            if (p.toString().contains(",")) throw new GuestException("QEMU cannot take a path with a comma: " + p);
        }
        return launch(config, files, securityVmCommandLine(config, files, watched, alerts.toAbsolutePath(), cycles.toAbsolutePath()),
                readyTimeout, false);
    }

    /** The PCI slot of the {@code i}-th watched guest's ivshmem device in a security VM. */
    public static String ivshmemAddress(int i) {
        return String.format("0000:00:%02x.0", 0x10 + i);
    }

    private static QemuGuest launch(GuestConfig config, RunFiles files, List<String> commandLine, Duration readyTimeout, boolean withAgent) {
        refuseIfRunning(files);
        clearStaleFiles(files);
        Process process;
        try {
            process = new ProcessBuilder(inOwnSession(commandLine))
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectErrorStream(true)
                    .redirectOutput(files.qemuLog().toFile())
                    .start();
        } catch (IOException e) {
            throw new GuestBootException("cannot start " + QEMU + " (apt-get install qemu-system-x86, or run scripts/setup.sh): "
                    + e.getMessage(), -1, e);
        }
        QemuProcessGuest guest = new QemuProcessGuest(config, files, process.toHandle(), true);
        try {
            guest.awaitReady(readyTimeout, withAgent);
            return guest;
        } catch (RuntimeException e) {
            guest.kill();
            throw new GuestBootException(e.getMessage(), process.pid(), e);
        }
    }

    /**
     * The guest of {@code config} started earlier (its run directory holds QEMU's pid file and
     * sockets). Closing the result stops it; {@link QemuGuest#detach()} leaves it running.
     */
    public static QemuGuest attach(GuestConfig config) {
        RunFiles files = new RunFiles(config.runDir().toAbsolutePath(), LabLayout.checkName(config.name()));
        ProcessHandle qemu = runningQemu(files).orElseThrow(() -> new GuestException(
                "no lab guest '" + config.name() + "' is running (no live QEMU process in " + files.pidFile() + ")"));
        if (!UnixSockets.isListening(files.qmp())) {
            throw new GuestException("lab guest '" + config.name() + "' (QEMU PID " + qemu.pid() + ") does not answer on "
                    + files.qmp());
        }
        return new QemuProcessGuest(config, files, qemu, false);
    }

    /** The live QEMU process named by the instance's pid file, if any. */
    static Optional<ProcessHandle> runningQemu(RunFiles files) {
        long pid;
        try {
            if (!Files.isRegularFile(files.pidFile())) return Optional.empty();
            pid = Long.parseLong(Files.readString(files.pidFile()).strip());
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
        return ProcessHandle.of(pid).filter(ProcessHandle::isAlive)
                .filter(h -> h.info().command().map(c -> c.contains("qemu-system")).orElse(false));
    }

    /**
     * setsid(1) puts QEMU in a session of its own, so a guest left running by {@code lab boot}
     * survives the terminal's SIGHUP; it execs QEMU in place, so the PID we hold stays QEMU's.
     */
    private static List<String> inOwnSession(List<String> command) {
        List<String> out = new java.util.ArrayList<>(command.size() + 1);
        out.add("setsid");
        out.addAll(command);
        return out;
    }

    /** What every QEMU vmsight starts has: TCG, the configured size and CPU, direct kernel boot, the serial log, the host's QMP. */
    private static List<String> commonArgs(GuestConfig config, RunFiles files, String machine) {
        return new java.util.ArrayList<>(List.of(
                QEMU, "-name", "vmsight-" + config.name(),
                "-accel", "tcg",
                "-machine", machine,
                "-m", config.memoryMiB() + "M",
                "-smp", String.valueOf(config.cpus()),
                "-cpu", config.cpuModel(),
                "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
                "-kernel", config.kernel().toAbsolutePath().toString(),
                "-initrd", config.initramfs().toAbsolutePath().toString(),
                "-append", config.kernelCommandLine(),
                "-serial", "file:" + files.serial(),
                "-qmp", "unix:" + files.qmp() + ",server=on,wait=off",
                "-pidfile", files.pidFile().toString()));
    }

    static List<String> commandLine(GuestConfig config, RunFiles files) {
        List<String> cmd = commonArgs(config, files, "pc,memory-backend=vmsight-ram");
        cmd.addAll(List.of(
                "-object", "memory-backend-file,id=vmsight-ram,size=" + config.memoryMiB() + "M,mem-path="
                        + files.ram() + ",share=on",
                // a second QMP monitor for a security VM (vmsight lab boot-security-vm); invisible to the guest
                "-chardev", "socket,id=vmsight-qmp-watch,path=" + files.qmpWatch() + ",server=on,wait=off",
                "-mon", "chardev=vmsight-qmp-watch,mode=control",
                "-chardev", "socket,id=vmsight-gdb,path=" + files.gdb() + ",server=on,wait=off",
                "-gdb", "chardev:vmsight-gdb",
                "-device", "virtio-serial",
                // the guest's qemu_fw_cfg writes its VMCOREINFO here, and dumps carry it (drgn and crash need it)
                "-device", "vmcoreinfo",
                "-chardev", "socket,id=vmsight-qga,path=" + files.qga() + ",server=on,wait=off",
                "-device", "virtserialport,chardev=vmsight-qga,name=org.qemu.guest_agent.0"));
        return cmd;
    }

    static List<String> securityVmCommandLine(GuestConfig config, RunFiles files, List<WatchChannels> watched, Path alerts, Path cycles) {
        List<String> cmd = commonArgs(config, files, "pc");
        cmd.addAll(List.of(
                "-device", "virtio-serial",
                "-chardev", "file,id=vmsight-alerts,path=" + alerts + ",append=on",
                "-device", "virtserialport,chardev=vmsight-alerts,name=vmsight.alerts",
                "-chardev", "file,id=vmsight-cycles,path=" + cycles + ",append=on",
                "-device", "virtserialport,chardev=vmsight-cycles,name=vmsight.cycles"));
        for (int i = 0; i < watched.size(); i++) {
            WatchChannels w = watched.get(i);
            if (Long.bitCount(w.ramBytes()) != 1 || w.ramBytes() > (2L << 30)) {
                throw new GuestException("lab guest '" + w.guest() + "' has " + (w.ramBytes() >> 20) + " MiB of RAM; an ivshmem device "
                        + "(a PCI BAR) must be a power of two, and above 2 GiB the RAM file is no longer guest-physical from 0 "
                        + "(the PCI hole): boot it with --memory 256, 512, 1024 or 2048");
            }
            String id = "vmsight-watch" + i;
            cmd.addAll(List.of(
                    // readonly=on: QEMU maps the file read-only, so not even a compromised security VM writes the guest's RAM
                    "-object", "memory-backend-file,id=" + id + ",size=" + w.ramBytes() + ",mem-path=" + w.ramFile() + ",share=on,readonly=on",
                    "-device", "ivshmem-plain,memdev=" + id + ",addr=0x" + Integer.toHexString(0x10 + i),
                    "-chardev", "socket,id=" + id + "-qmp,path=" + w.qmp(),
                    "-device", "virtserialport,chardev=" + id + "-qmp,name=vmsight." + w.guest() + ".qmp",
                    "-chardev", "socket,id=" + id + "-qga,path=" + w.qga(),
                    "-device", "virtserialport,chardev=" + id + "-qga,name=vmsight." + w.guest() + ".qga"));
        }
        return cmd;
    }

    private static void checkInputs(GuestConfig config, RunFiles files) {
        if (!Files.isRegularFile(config.kernel())) {
            throw new GuestException("kernel " + config.kernel() + " does not exist (run scripts/fetch-kernel.sh)");
        }
        if (!Files.isRegularFile(config.initramfs())) {
            throw new GuestException("guest image " + config.initramfs() + " does not exist (run 'vmsight lab build')");
        }
        // QEMU splits option values at commas.
        for (Path p : List.of(files.dir(), config.kernel().toAbsolutePath(), config.initramfs().toAbsolutePath())) {
            if (p.toString().contains(",")) throw new GuestException("QEMU cannot take a path with a comma: " + p);
        }
        for (Path socket : List.of(files.qmp(), files.qga(), files.gdb(), files.qmpWatch(), files.qgaWatch())) UnixSockets.checkLength(socket);
        try {
            Files.createDirectories(files.dir());
        } catch (IOException e) {
            throw new GuestException("cannot create the run directory " + files.dir() + ": " + e.getMessage(), e);
        }
    }

    /** A guest whose RAM file does not fit would die of SIGBUS mid-boot; say so up front (containers often give /dev/shm 64 MiB). */
    private static void checkRamSpace(GuestConfig config, RunFiles files) {
        try {
            long free = Files.getFileStore(files.ram().getParent()).getUsableSpace();
            long needed = config.memoryMiB() * 1024L * 1024L;
            if (free < needed) {
                throw new GuestException("not enough space in " + files.ram().getParent() + " for the guest's RAM file: "
                        + (free >> 20) + " MiB free, " + config.memoryMiB() + " MiB needed (enlarge it, e.g. docker --shm-size=1g)");
            }
        } catch (IOException e) {
            throw new GuestException("cannot check " + files.ram().getParent() + " for the guest's RAM file: " + e.getMessage(), e);
        }
    }

    /** QEMU unlinks a socket path before binding it, so a second instance would silently steal the first one's sockets. */
    private static void refuseIfRunning(RunFiles files) {
        for (Path socket : List.of(files.qmp(), files.qga(), files.gdb(), files.qmpWatch())) {
            if (UnixSockets.isListening(socket)) {
                throw new GuestException("lab guest '" + files.name() + "' is already running: socket " + socket
                        + " is in use (stop it with 'vmsight lab stop' or use another name)");
            }
        }
        runningQemu(files).ifPresent(h -> {
            throw new GuestException("lab guest '" + files.name() + "' is already running: QEMU PID " + h.pid()
                    + " from " + files.pidFile() + " (stop it with 'vmsight lab stop')");
        });
    }

    private static void clearStaleFiles(RunFiles files) {
        for (Path p : List.of(files.qmp(), files.qga(), files.gdb(), files.qmpWatch(), files.qgaWatch(), files.serial(), files.qemuLog(),
                files.pidFile(), files.ram())) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException e) {
                throw new GuestException("cannot remove the stale file " + p + ": " + e.getMessage(), e);
            }
        }
    }
}
