package dev.vmsight.guests;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** A QEMU process running a lab guest; see {@link QemuLauncher}. */
final class QemuProcessGuest implements QemuGuest {

    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration QMP_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration DUMP_TIMEOUT = Duration.ofMinutes(2);
    private static final Duration EXIT_TIMEOUT = Duration.ofSeconds(5);

    private final GuestConfig config;
    private final RunFiles files;
    private final ProcessHandle qemu;
    private final Thread shutdownHook;
    private QmpClient qmp;
    private GuestAgentClient qga;
    private boolean closed;

    /** @param killOnExit whether a JVM shutdown hook kills this QEMU (true for guests this JVM started) */
    QemuProcessGuest(GuestConfig config, RunFiles files, ProcessHandle qemu, boolean killOnExit) {
        this.config = config;
        this.files = files;
        this.qemu = qemu;
        if (killOnExit) {
            shutdownHook = new Thread(() -> killProcess(qemu, files, Duration.ZERO), "vmsight-kill-qemu-" + qemu.pid());
            Runtime.getRuntime().addShutdownHook(shutdownHook);
        } else {
            shutdownHook = null;
        }
    }

    /** Waits for the readiness line on the serial console, then for QMP and qemu-guest-agent. */
    void awaitReady(Duration timeout) {
        awaitReady(timeout, true);
    }

    /** As {@link #awaitReady(Duration)}; {@code withAgent} false for a guest without qemu-guest-agent (the security VM). */
    void awaitReady(Duration timeout, boolean withAgent) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            String serial = readSerial();
            if (serial.contains(QemuLauncher.READY)) break;
            int failed = serial.indexOf(QemuLauncher.FAILED);
            if (failed >= 0) {
                throw new GuestException("guest '" + config.name() + "' failed to start: "
                        + serial.substring(failed).lines().findFirst().orElse("").strip() + " (serial log " + files.serial() + ")");
            }
            if (!qemu.isAlive()) {
                String qemuSaid = String.join(" | ", LabLayout.tail(files.qemuLog(), 3)).strip();
                String panic = serial.lines().filter(l -> l.contains("Kernel panic")).findFirst()
                        .map(l -> "; the kernel panicked: " + l.replaceFirst("^\\[[^]]*\\] *", "").strip()).orElse("");
                throw new GuestException(QemuLauncher.QEMU + " for guest '" + config.name() + "' exited during boot"
                        + (qemuSaid.isEmpty() ? "" : ": " + qemuSaid) + panic + "; serial log " + files.serial()
                        + " ends with: " + String.join(" | ", LabLayout.tail(files.serial(), 5)));
            }
            if (System.nanoTime() > deadline) {
                throw new GuestException("guest '" + config.name() + "' did not become ready within " + timeout.toSeconds()
                        + " s; serial log " + files.serial() + " ends with: " + String.join(" | ", LabLayout.tail(files.serial(), 5)));
            }
            UnixSockets.sleepQuietly(Duration.ofMillis(50));
        }
        Duration left = Duration.ofNanos(Math.max(deadline - System.nanoTime(), CONNECT_TIMEOUT.toNanos()));
        qmp = QmpClient.connect(files.qmp(), CONNECT_TIMEOUT);
        if (withAgent) qga = GuestAgentClient.connect(files.qga(), left);
    }

    private String readSerial() {
        try {
            return Files.exists(files.serial()) ? Files.readString(files.serial(), StandardCharsets.ISO_8859_1) : "";
        } catch (IOException e) {
            return "";
        }
    }

    @Override public String name() { return config.name(); }
    @Override public GuestConfig config() { return config; }
    @Override public long pid() { return qemu.pid(); }
    @Override public Path runDir() { return files.dir(); }
    @Override public Path serialLog() { return files.serial(); }
    @Override public Path gdbSocket() { return files.gdb(); }
    @Override public Path ramFile() { return files.ram(); }

    private synchronized QmpClient qmp() {
        checkOpen();
        if (qmp == null) qmp = QmpClient.connect(files.qmp(), CONNECT_TIMEOUT);
        return qmp;
    }

    private synchronized GuestAgentClient qga() {
        checkOpen();
        if (qga == null) qga = GuestAgentClient.connect(files.qga(), CONNECT_TIMEOUT);
        return qga;
    }

    private void checkOpen() {
        if (closed) throw new GuestException("guest '" + config.name() + "' is already stopped");
    }

    @Override
    public ExecResult exec(Duration timeout, List<String> argv) {
        return qga().exec(timeout, argv);
    }

    @Override
    public void writeFile(String guestPath, byte[] content) {
        qga().writeFile(guestPath, content);
    }

    @Override
    public long spawn(List<String> argv) {
        return qga().spawn(argv);
    }

    @Override
    public Optional<ExecResult> poll(long guestPid) {
        return Optional.ofNullable(qga().status(guestPid));
    }

    @Override
    public void pause() {
        qmp().execute("stop", null, QMP_TIMEOUT);
    }

    @Override
    public void resume() {
        qmp().execute("cont", null, QMP_TIMEOUT);
    }

    @Override
    public boolean running() {
        return runState().equals("running");
    }

    @Override
    public String hmp(String command) {
        return qmp().execute("human-monitor-command", QmpClient.args().put("command-line", command), QMP_TIMEOUT).asText();
    }

    @Override
    public String runState() {
        return qmp().execute("query-status", null, QMP_TIMEOUT).path("status").asText();
    }

    @Override
    public void dumpElf(Path out, boolean paging) {
        Path target = out.toAbsolutePath();
        try {
            if (target.getParent() != null) Files.createDirectories(target.getParent());
        } catch (IOException e) {
            throw new GuestException("cannot create the directory for " + target + ": " + e.getMessage(), e);
        }
        if (target.toString().contains(",")) throw new GuestException("QEMU cannot take a path with a comma: " + target);
        qmp().execute("dump-guest-memory", QmpClient.args().put("paging", paging).put("protocol", "file:" + target),
                DUMP_TIMEOUT);
        byte[] magic = new byte[4];
        try (var in = Files.newInputStream(target)) {
            if (in.read(magic) != 4 || magic[0] != 0x7f || magic[1] != 'E' || magic[2] != 'L' || magic[3] != 'F') {
                throw new GuestException("QMP dump-guest-memory wrote " + target + " but it is not an ELF file");
            }
        } catch (IOException e) {
            throw new GuestException("QMP dump-guest-memory did not produce " + target + ": " + e.getMessage(), e);
        }
    }

    /** The qemu-guest-agent started for a watcher: on the hot-plugged port, with a pid file and state dir of its own. */
    static final String WATCH_AGENT_PORT = "org.qemu.guest_agent.1";
    private static final String WATCH_CHARDEV = "vmsight-qga-watch";
    private static final String START_WATCH_AGENT = """
            n=0; port=""
            while [ -z "$port" ]; do
              for p in /sys/class/virtio-ports/*; do
                [ "$(cat "$p/name" 2>/dev/null)" = %1$s ] && port=/dev/${p##*/}
              done
              [ -n "$port" ] && break
              n=$((n + 1)); [ $n -gt 100 ] && { echo "no virtio port named %1$s after 10 s" >&2; exit 3; }
              usleep 100000
            done
            mkdir -p /dev/virtio-ports /run/qga-watch
            ln -sf "$port" /dev/virtio-ports/%1$s
            if [ -f /run/qga-watch/qemu-ga.pid ] && kill -0 "$(cat /run/qga-watch/qemu-ga.pid)" 2>/dev/null; then exit 0; fi
            exec /usr/sbin/qemu-ga -m virtio-serial -p "$port" -d -f /run/qga-watch/qemu-ga.pid -t /run/qga-watch
            """.formatted(WATCH_AGENT_PORT);

    @Override
    public synchronized WatchChannels openWatchChannels() {
        if (!java.nio.file.Files.exists(files.qmpWatch())) {
            throw new GuestException("lab guest '" + config.name() + "' has no second QMP monitor at " + files.qmpWatch()
                    + " (booted by an older vmsight): boot it again to watch it");
        }
        boolean chardev = false, port = false;
        for (JsonNode c : qmp().execute("query-chardev", null, QMP_TIMEOUT)) {
            if (c.path("label").asText().equals(WATCH_CHARDEV)) chardev = true;
        }
        for (JsonNode d : qmp().execute("qom-list", QmpClient.args().put("path", "/machine/peripheral"), QMP_TIMEOUT)) {
            if (d.path("name").asText().equals(WATCH_CHARDEV + "-port")) port = true;
        }
        if (!chardev) {
            ObjectNode addr = QmpClient.args().put("type", "unix");
            addr.set("data", QmpClient.args().put("path", files.qgaWatch().toString()));
            ObjectNode data = QmpClient.args().put("server", true).put("wait", false);
            data.set("addr", addr);
            ObjectNode backend = QmpClient.args().put("type", "socket");
            backend.set("data", data);
            ObjectNode chardevArgs = QmpClient.args().put("id", WATCH_CHARDEV);
            chardevArgs.set("backend", backend);
            qmp().execute("chardev-add", chardevArgs, QMP_TIMEOUT);
        }
        if (!port) {      // also after a chardev-add whose device_add failed: each half is checked on its own
            qmp().execute("device_add", QmpClient.args().put("driver", "virtserialport").put("chardev", WATCH_CHARDEV)
                    .put("name", WATCH_AGENT_PORT).put("id", WATCH_CHARDEV + "-port"), QMP_TIMEOUT);
        }
        ExecResult started = exec(Duration.ofSeconds(30), List.of("/bin/sh", "-c", START_WATCH_AGENT));
        if (started.exitCode() != 0) {
            throw new GuestException("could not start the watcher's qemu-ga in lab guest '" + config.name() + "': exit "
                    + started.exitCode() + ": " + (started.stderr() + started.stdout()).strip());
        }
        try {
            return new WatchChannels(config.name(), files.ram(), Files.size(files.ram()), files.qmpWatch(), files.qgaWatch());
        } catch (IOException e) {
            throw new GuestException("cannot read the size of " + files.ram() + ": " + e.getMessage(), e);
        }
    }

    @Override
    public synchronized void detach() {
        if (shutdownHook != null) removeHook();
        closeConnections();
        closed = true;
    }

    /** Asks QEMU to quit (QMP quit), kills it by PID if it has not exited in 5 s, removes its files. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        try {
            if (qemu.isAlive()) {
                try {
                    if (qmp == null) qmp = QmpClient.connect(files.qmp(), Duration.ofSeconds(2));
                    qmp.execute("quit", null, Duration.ofSeconds(2));
                } catch (GuestException e) {
                    // QEMU may close the socket before answering; the PID check below decides
                }
            }
            closeConnections();
            killProcess(qemu, files, EXIT_TIMEOUT);
        } finally {
            if (shutdownHook != null) removeHook();
        }
    }

    /** Kills QEMU right away (boot failure path). */
    void kill() {
        closed = true;
        closeConnections();
        killProcess(qemu, files, Duration.ZERO);
        if (shutdownHook != null) removeHook();
    }

    private void closeConnections() {
        if (qmp != null) qmp.close();
        if (qga != null) qga.close();
        qmp = null;
        qga = null;
    }

    private void removeHook() {
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException e) {
            // the JVM is already shutting down; the hook runs and finds QEMU gone
        }
    }

    /** Waits {@code grace} for QEMU to exit, then SIGKILLs the PID; deletes the RAM file and sockets. */
    static void killProcess(ProcessHandle qemu, RunFiles files, Duration grace) {
        try {
            if (qemu.isAlive()) {
                try {
                    qemu.onExit().get(Math.max(1, grace.toMillis()), TimeUnit.MILLISECONDS);
                } catch (TimeoutException e) {
                    qemu.destroyForcibly();
                    qemu.onExit().get(EXIT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
                }
            }
        } catch (InterruptedException e) {
            qemu.destroyForcibly();
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            qemu.destroyForcibly();
        }
        for (Path p : List.of(files.ram(), files.qmp(), files.qga(), files.gdb(), files.qmpWatch(), files.qgaWatch(), files.pidFile())) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // best effort: a stale file is cleared by the next start
            }
        }
    }

    @Override
    public String toString() {
        return "QEMU guest '" + config.name() + "' (PID " + qemu.pid() + ")";
    }
}
