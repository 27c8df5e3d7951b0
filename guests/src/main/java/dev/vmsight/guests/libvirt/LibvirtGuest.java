package dev.vmsight.guests.libvirt;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vmsight.guests.ExecResult;
import dev.vmsight.guests.Guest;
import dev.vmsight.guests.GuestConfig;
import dev.vmsight.guests.GuestException;
import dev.vmsight.guests.GuestExec;
import dev.vmsight.guests.QemuLauncher;
import dev.vmsight.vmi.phys.MemoryMap;
import dev.vmsight.vmi.phys.PhysicalMemories;
import dev.vmsight.vmi.phys.PhysicalMemory;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.libvirt.Connect;
import org.libvirt.Domain;
import org.libvirt.DomainInfo;
import org.libvirt.ErrorCallback;
import org.libvirt.LibvirtException;

/**
 * A lab guest run as a libvirt domain (see {@link DomainXml}), controlled through libvirt-java:
 * qemu-guest-agent commands for {@link #exec}, QEMU monitor commands for the RAM file and memory
 * map, virDomainMemoryPeek for {@link #physicalMemory()}, virDomainCoreDump for {@link #dumpElf}.
 *
 * <p>{@link #close()} destroys and undefines the domain, whether it was started or attached to;
 * {@link #disconnect()} only drops this side's connection and leaves the guest running.
 */
public final class LibvirtGuest implements Guest {
    private static final Duration BOOT_TIMEOUT = Duration.ofSeconds(180);
    private static final Duration AGENT_TIMEOUT = Duration.ofSeconds(30);
    private static final int DUMP_MEMORY_ONLY = 1 << 4; // VIR_DUMP_MEMORY_ONLY
    private static final int MONITOR_HMP = 1; // VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Connect connect;
    private final Domain domain;
    private final String uri;
    private final GuestConfig config;
    private final Path serialLog;
    private boolean closed;
    /** Destroys a domain this JVM started if the JVM exits without close() (e.g. a killed test run). */
    private Thread shutdownHook;

    private LibvirtGuest(Connect connect, Domain domain, String uri, GuestConfig config, Path serialLog) {
        this.connect = connect;
        this.domain = domain;
        this.uri = uri;
        this.config = config;
        this.serialLog = serialLog;
    }

    /**
     * Defines and starts the domain {@code config.name()} at {@code uri} (e.g. qemu:///system), waits
     * until the guest prints its readiness line and answers qemu-guest-agent, and returns it. On any
     * failure the domain is destroyed and undefined again. The domain also goes when this JVM exits,
     * unless {@link #disconnect()} was called: a command that leaves the guest running for later
     * ones ({@code vmsight lab boot --libvirt}) disconnects, and they {@link #attach} to it.
     */
    public static LibvirtGuest start(GuestConfig config, String uri) {
        for (Path f : List.of(config.kernel(), config.initramfs())) {
            if (!Files.isRegularFile(f)) throw new GuestException("cannot boot " + config.name() + ": " + f + " does not exist");
        }
        Path serialLog = config.runDir().toAbsolutePath().resolve("serial.log");
        try {
            Files.createDirectories(config.runDir());
            Files.deleteIfExists(serialLog);
        } catch (IOException e) {
            throw new GuestException("cannot prepare " + config.runDir() + ": " + e.getMessage(), e);
        }
        Connect connect = open(uri);
        Domain domain;
        try {
            if (exists(connect, config.name())) {
                closeQuietly(connect);
                throw new GuestException("a libvirt domain named " + config.name() + " already exists at " + uri
                        + ": stop it first (virsh -c " + uri + " destroy " + config.name() + "; virsh undefine " + config.name() + ")");
            }
            domain = connect.domainDefineXML(DomainXml.of(config, serialLog));
        } catch (LibvirtException e) {
            closeQuietly(connect);
            throw new GuestException("libvirt at " + uri + " rejected domain " + config.name() + ": " + e.getMessage(), e);
        }
        LibvirtGuest guest = new LibvirtGuest(connect, domain, uri, config, serialLog);
        guest.shutdownHook = new Thread(guest::close, "destroy libvirt domain " + config.name());
        Runtime.getRuntime().addShutdownHook(guest.shutdownHook);
        try {
            domain.create();
            guest.awaitReady();
            return guest;
        } catch (LibvirtException e) {
            guest.close();
            throw new GuestException("libvirt could not start domain " + config.name() + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            guest.close();
            throw e;
        }
    }

    /** Takes over the running domain {@code domainName} at {@code uri} (e.g. one `vmsight lab boot --libvirt` left running). */
    public static LibvirtGuest attach(String uri, String domainName) {
        Connect connect = open(uri);
        try {
            if (!exists(connect, domainName)) {
                throw new GuestException("no libvirt domain named " + domainName + " at " + uri);
            }
            Domain domain = connect.domainLookupByName(domainName);
            if (domain.getInfo().state != DomainInfo.DomainState.VIR_DOMAIN_RUNNING
                    && domain.getInfo().state != DomainInfo.DomainState.VIR_DOMAIN_PAUSED) {
                throw new GuestException("libvirt domain " + domainName + " at " + uri + " is not running (" + domain.getInfo().state + ")");
            }
            String xml = domain.getXMLDesc(0);
            return new LibvirtGuest(connect, domain, uri, configFromXml(domainName, xml), serialLogFromXml(xml));
        } catch (LibvirtException e) {
            closeQuietly(connect);
            throw new GuestException("cannot attach to libvirt domain " + domainName + " at " + uri + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            closeQuietly(connect);
            throw e;
        }
    }

    /**
     * libvirt's default error handler prints every error to stderr ("libvirt: XML-RPC error : ...")
     * on top of the exception we turn into one clear line; a no-op handler silences it. Held in a
     * static field so JNA's callback is never garbage-collected.
     */
    private static final ErrorCallback SILENT = new ErrorCallback();
    private static boolean silenced;

    private static synchronized void silenceLibvirtStderr() {
        if (silenced) return;
        try {
            Connect.setErrorCallback(SILENT);
            silenced = true;
        } catch (LibvirtException e) {
            // keep libvirt's default printing; the exception still carries the message
        }
    }

    /** Opens {@code uri}; an unreachable libvirtd becomes one line that says how to start it. */
    static Connect open(String uri) {
        try {
            silenceLibvirtStderr();
            return new Connect(uri);
        } catch (LibvirtException e) {
            throw new GuestException("libvirtd is not running at " + uri + ": start it with scripts/libvirtd-up.sh ("
                    + e.getMessage().strip().replaceAll("\\s+", " ") + ")", e);
        } catch (UnsatisfiedLinkError e) {
            throw new GuestException("libvirt's client library (libvirt.so.0) is not installed: run scripts/setup.sh", e);
        }
    }

    private static boolean exists(Connect connect, String name) throws LibvirtException {
        for (String n : connect.listDefinedDomains()) if (n.equals(name)) return true;
        for (int id : connect.listDomains()) if (connect.domainLookupByID(id).getName().equals(name)) return true;
        return false;
    }

    private void awaitReady() {
        long deadline = System.nanoTime() + BOOT_TIMEOUT.toNanos();
        while (true) {
            String console = readSerial();
            if (console.contains(QemuLauncher.READY)) break;
            int failed = console.indexOf(QemuLauncher.FAILED);
            if (failed >= 0) {
                throw new GuestException("guest " + config.name() + " failed to boot: "
                        + console.substring(failed).lines().findFirst().orElse("") + " (console: " + serialLog + ")");
            }
            if (!isActive()) {
                throw new GuestException("libvirt domain " + config.name() + " stopped while booting (console: " + serialLog + ")");
            }
            if (System.nanoTime() > deadline) {
                throw new GuestException("guest " + config.name() + " did not print " + QemuLauncher.READY + " within "
                        + BOOT_TIMEOUT.toSeconds() + " s (console: " + serialLog + ")");
            }
            sleep(100);
        }
        // The agent may need a moment after /init reports; guest-ping until it answers.
        while (true) {
            try {
                agentCommand("{\"execute\":\"guest-ping\"}", Duration.ofSeconds(5));
                return;
            } catch (GuestException e) {
                if (System.nanoTime() > deadline) throw e;
                sleep(200);
            }
        }
    }

    private String readSerial() {
        try {
            return Files.isRegularFile(serialLog) ? Files.readString(serialLog, StandardCharsets.ISO_8859_1) : "";
        } catch (IOException e) {
            throw new GuestException("cannot read the console log " + serialLog + ": " + e.getMessage(), e);
        }
    }

    private boolean isActive() {
        try {
            return domain.isActive() == 1;
        } catch (LibvirtException e) {
            throw new GuestException("libvirt at " + uri + " lost domain " + config.name() + ": " + e.getMessage(), e);
        }
    }

    @Override public String name() { return config.name(); }

    @Override public GuestConfig config() { return config; }

    /** The libvirt URI this guest's domain lives at. */
    public String uri() { return uri; }

    /** The guest's serial console (ttyS0) as written by QEMU. */
    public Path serialLog() { return serialLog; }

    /** The libvirt-java handle, for what this class does not wrap. */
    public Domain domain() { return domain; }

    /** Sends one qemu-guest-agent command (JSON) and returns libvirt's JSON reply. */
    public String agentCommand(String json, Duration timeout) {
        try {
            return domain.qemuAgentCommand(json, (int) Math.max(1, timeout.toSeconds()), 0);
        } catch (LibvirtException e) {
            throw new GuestException("qemu-guest-agent of " + name() + " did not answer " + json + ": " + e.getMessage(), e);
        }
    }

    /** Sends one QMP command (JSON) to the domain's QEMU and returns the reply. */
    public String monitorCommand(String json) {
        try {
            return domain.qemuMonitorCommand(json, 0);
        } catch (LibvirtException e) {
            throw new GuestException("QEMU monitor of " + name() + " rejected " + json + ": " + e.getMessage(), e);
        }
    }

    /** Sends one human monitor command (e.g. "info registers") and returns its text. */
    public String hmp(String command) {
        try {
            return domain.qemuMonitorCommand(command, MONITOR_HMP);
        } catch (LibvirtException e) {
            throw new GuestException("QEMU monitor of " + name() + " rejected HMP '" + command + "': " + e.getMessage(), e);
        }
    }

    @Override
    public ExecResult exec(Duration timeout, List<String> argv) {
        return GuestExec.run(this::agentCall, timeout, argv, "guest " + name());
    }

    @Override
    public void writeFile(String guestPath, byte[] content) {
        GuestExec.writeFile(this::agentCall, guestPath, content, "guest " + name());
    }

    /** One agent command through qemuAgentCommand: its "return" member, or an exception with the agent's error. */
    private JsonNode agentCall(String command, ObjectNode arguments) {
        ObjectNode request = JSON.createObjectNode().put("execute", command);
        request.set("arguments", arguments);
        JsonNode answer = parse(agentCommand(request.toString(), AGENT_TIMEOUT));
        if (answer.has("error")) {
            throw new GuestException("qemu-guest-agent of " + name() + " refused '" + command + "': "
                    + answer.get("error").path("desc").asText());
        }
        return answer.path("return");
    }

    private JsonNode parse(String reply) {
        try {
            return JSON.readTree(reply);
        } catch (IOException e) {
            throw new GuestException("unreadable reply from " + name() + ": " + reply, e);
        }
    }

    @Override
    public void pause() {
        try {
            domain.suspend();
        } catch (LibvirtException e) {
            throw new GuestException("cannot pause " + name() + ": " + e.getMessage(), e);
        }
    }

    @Override
    public boolean running() {
        try {
            return domain.getInfo().state == DomainInfo.DomainState.VIR_DOMAIN_RUNNING;
        } catch (LibvirtException e) {
            throw new GuestException("cannot read the state of " + name() + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void resume() {
        try {
            domain.resume();
        } catch (LibvirtException e) {
            throw new GuestException("cannot resume " + name() + ": " + e.getMessage(), e);
        }
    }

    /** The QOM id of the guest's RAM backend: libvirt names the pc machine's backend "pc.ram". */
    private String ramBackendId() {
        JsonNode objects = parse(monitorCommand("{\"execute\":\"qom-list\",\"arguments\":{\"path\":\"/objects\"}}")).path("return");
        for (JsonNode o : objects) {
            if (o.path("type").asText().equals("child<memory-backend-file>")) return o.path("name").asText();
        }
        throw new GuestException("domain " + name() + " has no memory-backend-file (is <memoryBacking><source type='file'/> in its XML?)");
    }

    /**
     * The shared RAM file, asked from QEMU itself (qom-get mem-path of the memory-backend-file) rather
     * than guessed from libvirt's memory_backing_dir layout.
     */
    @Override
    public Path ramFile() {
        String id = ramBackendId();
        String path = parse(monitorCommand("{\"execute\":\"qom-get\",\"arguments\":{\"path\":\"/objects/" + id
                + "\",\"property\":\"mem-path\"}}")).path("return").asText("");
        Path file = Paths.get(path);
        if (path.isEmpty() || !Files.isRegularFile(file)) {
            throw new GuestException("QEMU of " + name() + " reports RAM file '" + path + "', which is not a regular file here");
        }
        return file;
    }

    /** Which guest-physical ranges the RAM file holds, from QEMU's flattened memory tree. */
    public MemoryMap memoryMap() {
        try {
            return QemuMemoryTree.parse(hmp("info mtree -f"), ramBackendId());
        } catch (IllegalArgumentException e) {
            throw new GuestException("domain " + name() + ": " + e.getMessage(), e);
        }
    }

    /** Guest RAM through the shared file (fast; the guest keeps running unless paused). */
    public PhysicalMemory ramFileMemory() {
        return PhysicalMemories.ramFile(ramFile(), memoryMap());
    }

    /** Guest RAM through virDomainMemoryPeek (≈10 ms per 64 KiB request; wrap in a cache). */
    public PhysicalMemory physicalMemory() {
        return PhysicalMemories.libvirt(domain, memoryMap(), name());
    }

    @Override
    public void dumpElf(Path out, boolean paging) {
        if (paging) {
            throw new GuestException("libvirt's memory-only dump of " + name() + " has no paging mode (virsh dump --memory-only is physical)");
        }
        Path abs = out.toAbsolutePath();
        try {
            Files.createDirectories(abs.getParent());
            domain.coreDump(abs.toString(), DUMP_MEMORY_ONLY);
        } catch (IOException | LibvirtException e) {
            throw new GuestException("cannot dump " + name() + " to " + abs + ": " + e.getMessage(), e);
        }
    }

    /** Drops this side's connection; the domain keeps running (reattach with {@link #attach}). */
    public synchronized void disconnect() {
        if (closed) return;
        closed = true;
        dropShutdownHook();
        closeQuietly(connect);
    }

    /** Destroys (if running) and undefines the domain, then closes the connection. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        dropShutdownHook();
        try {
            if (domain.isActive() == 1) domain.destroy();
        } catch (LibvirtException e) {
            // already gone: nothing to stop
        }
        try {
            domain.undefine();
        } catch (LibvirtException e) {
            // transient or already undefined
        }
        closeQuietly(connect);
    }

    private void dropShutdownHook() {
        if (shutdownHook == null || Thread.currentThread() == shutdownHook) return;
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException e) {
            // the JVM is already shutting down; the hook runs close() itself
        }
    }

    private static void closeQuietly(Connect c) {
        try {
            c.close();
        } catch (LibvirtException e) {
            // the connection is gone either way
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new GuestException("interrupted while waiting for the guest", e);
        }
    }

    private static String xmlText(String xml, String tag) {
        Matcher m = Pattern.compile("<" + tag + "(?:\\s[^>]*)?>([^<]*)</" + tag + ">").matcher(xml);
        return m.find() ? m.group(1) : null;
    }

    private static GuestConfig configFromXml(String name, String xml) {
        String kernel = xmlText(xml, "kernel"), initrd = xmlText(xml, "initrd"), cmdline = xmlText(xml, "cmdline");
        String memory = xmlText(xml, "memory"), vcpu = xmlText(xml, "vcpu");
        if (kernel == null || initrd == null || memory == null || vcpu == null) {
            throw new GuestException("domain " + name + " is not a vmsight lab guest (no direct kernel boot in its XML)");
        }
        Matcher unit = Pattern.compile("<memory unit='(\\w+)'").matcher(xml);
        long kib = Long.parseLong(memory.strip()) * (unit.find() && unit.group(1).equals("MiB") ? 1024 : 1);
        String cl = cmdline == null ? "" : cmdline;
        Matcher procs = Pattern.compile("vmsight\\.procs=(\\d+)").matcher(cl);
        Path log = serialLogFromXml(xml);
        String model = xmlText(xml, "model");
        return new GuestConfig(name, Paths.get(kernel), Paths.get(initrd), (int) (kib / 1024), Integer.parseInt(vcpu.strip()),
                !cl.contains("nokaslr"), procs.find() ? Integer.parseInt(procs.group(1)) : 0,
                log == null ? Paths.get(".") : log.getParent(),
                model == null || xml.indexOf("<cpu") < 0 ? GuestConfig.DEFAULT_CPU_MODEL : model.strip());
    }

    private static Path serialLogFromXml(String xml) {
        Matcher m = Pattern.compile("<serial type='file'>\\s*<source path='([^']+)'").matcher(xml);
        return m.find() ? Paths.get(m.group(1)) : null;
    }
}
