package dev.vmsight.agent;

import dev.vmsight.guests.Guest;
import dev.vmsight.guests.GuestConfig;
import dev.vmsight.guests.GuestException;
import dev.vmsight.guests.KernelPackage;
import dev.vmsight.guests.LabInstance;
import dev.vmsight.guests.LabLayout;
import dev.vmsight.guests.QemuGuest;
import dev.vmsight.guests.QemuLauncher;
import dev.vmsight.guests.WatchChannels;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Boots the security VM: a second QEMU guest whose /init runs this agent (guests/security-vm)
 * against lab guests it reads from outside, through the hypervisor only:
 *
 * <ul>
 *   <li>each watched guest's RAM file is an ivshmem-plain device of the VM (QEMU maps it
 *       read-only), which the agent maps from the device's BAR;
 *   <li>the guest's second QMP monitor and a second qemu-guest-agent channel reach the VM as
 *       virtio-serial ports: pause, resume, registers and the guest's own view, as on the host;
 *   <li>alerts and one line per cycle leave through two more ports, which QEMU appends to
 *       {@code alerts.jsonl} and {@code cycles.jsonl} in the VM's run directory. The host runs no
 *       monitor.
 * </ul>
 *
 * The VM's initramfs is the base image (busybox, virtio-serial, a jlinked JRE; built once per
 * kernel) with a second cpio archive appended for this boot: the agent's classes, the bundles,
 * the kallsyms and the agent's configuration.
 */
public final class SecurityVm {
    /** Under TCG the JVM in the VM runs monitors tens of times slower than the host does: a run's default 2 s budget is too tight. */
    static final int BUDGET_MS = 30_000;
    private static final Duration READY_TIMEOUT = Duration.ofMinutes(3);
    private static final String PORTS = "/dev/virtio-ports/";

    private SecurityVm() {}

    /**
     * @param classpath what the agent runs from in the VM (the CLI's jar, or a test's classpath): copied in
     * @param symbols   kallsyms per kernel (the layout of .lab/corpus, only its kallsyms files are copied) or one file; null for none
     */
    public record Options(String name, List<String> watch, Path bundles, Path symbols, Duration interval, int memoryMiB, int cpus,
                          List<Path> classpath, List<String> javaOptions) {
        public Options {
            watch = List.copyOf(watch);
            classpath = List.copyOf(classpath);
            javaOptions = List.copyOf(javaOptions);
            for (String o : javaOptions) {
                if (o.isBlank() || o.chars().anyMatch(Character::isWhitespace)) {
                    throw new IllegalArgumentException("a JVM option is one word without spaces, not '" + o + "'");
                }
            }
            if (watch.isEmpty()) throw new IllegalArgumentException("name at least one lab guest to watch");
            if (memoryMiB < 512) throw new IllegalArgumentException("the security VM needs at least 512 MiB (a JVM and its own initramfs), not " + memoryMiB);
            if (cpus < 1 || cpus > 8) throw new IllegalArgumentException("the security VM takes 1 to 8 vCPUs, not " + cpus);
            if (interval.isNegative() || interval.isZero()) throw new IllegalArgumentException("the cycle interval must be longer than 0, not " + interval);
        }

        /** With the default JVM options ({@link #defaultJavaOptions}). */
        public Options(String name, List<String> watch, Path bundles, Path symbols, Duration interval, int memoryMiB, int cpus,
                       List<Path> classpath) {
            this(name, watch, bundles, symbols, interval, memoryMiB, cpus, classpath, defaultJavaOptions(memoryMiB));
        }
    }

    /**
     * The VM's JVM: a heap of 3/8 of its RAM (the rest holds the kernel, the JRE and the classes
     * of the initramfs), the serial collector (one agent, small heap), no perf data file.
     */
    public static List<String> defaultJavaOptions(int memoryMiB) {
        return List.of("-Xmx" + (memoryMiB * 3 / 8) + "m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData",
                "-Dorg.slf4j.simpleLogger.showDateTime=true");
    }

    /** A running security VM: its QEMU, and the host files its alert and cycle ports write to. */
    public record Booted(QemuGuest vm, Path alerts, Path cycles, Path serialLog) { }

    /**
     * Readies each watched guest, builds this boot's archive (its agent configuration checked here
     * first) and boots the VM; returns when its /init is about to start the agent.
     */
    public static Booted boot(LabLayout lab, Options o) {
        KernelPackage kernel = lab.pinnedKernel();
        Path base = lab.buildSecurityVmImage(kernel);
        Path runDir = lab.runDir(o.name());
        List<WatchChannels> watched = new ArrayList<>();
        for (String name : o.watch()) {
            if (name.equals(o.name())) throw new GuestException("a security VM cannot watch itself ('" + name + "')");
            refuseIfWatched(lab, name);
            Guest g = LabInstance.attach(lab, name);
            try {
                if (!(g instanceof QemuGuest q)) {
                    throw new GuestException("lab guest '" + name + "' is a libvirt domain; the security VM watches QEMU lab guests "
                            + "(vmsight lab boot without --libvirt)");
                }
                watched.add(q.openWatchChannels());
            } finally {
                LabInstance.release(g);
            }
        }
        Path staging = runDir.resolve("boot");
        Path initrd = runDir.resolve("initrd.cpio");
        try {
            deleteTree(staging);
            Files.createDirectories(staging);
            writeBootFiles(staging, o, watched);
            try {
                AgentConfig.load(staging.resolve("etc/vmsight/agent.toml"));   // what the agent in the VM will read: refused here, not there
            } catch (AgentConfig.AgentConfigException e) {
                throw new GuestException("the security VM's agent configuration is invalid: " + e.getMessage(), e);
            }
            Path extra = runDir.resolve("boot.cpio");
            cpio(staging, extra);
            concatenate(base, extra, initrd);
            Files.delete(extra);
            deleteTree(staging);
        } catch (IOException e) {
            throw new GuestException("cannot build the security VM's boot archive in " + runDir + ": " + e.getMessage(), e);
        }
        GuestConfig config = new GuestConfig(o.name(), lab.kernelImage(kernel), initrd, o.memoryMiB(), o.cpus(), true, 0, runDir);
        Path alerts = runDir.resolve("alerts.jsonl"), cycles = runDir.resolve("cycles.jsonl");
        QemuGuest vm = QemuLauncher.startSecurityVm(config, watched, alerts, cycles, READY_TIMEOUT);
        new LabInstance(LabInstance.Kind.SECURITY_VM, config, null).save();
        for (String name : o.watch()) {
            try {
                Files.writeString(lab.runDir(name).resolve(WATCHED_BY), o.name() + "\n");
            } catch (IOException e) {
                throw new GuestException("cannot record the watcher of lab guest '" + name + "': " + e.getMessage(), e);
            }
        }
        return new Booted(vm, alerts, cycles, vm.serialLog());
    }

    /** In a watched guest's run directory: the security VM that holds its second QMP monitor (one client at a time). */
    static final String WATCHED_BY = "watched-by";

    /**
     * A guest's second QMP monitor takes one client: a second security VM would boot with a port
     * that never answers. Refused while the VM recorded as its watcher still runs.
     */
    private static void refuseIfWatched(LabLayout lab, String guest) {
        Path file = lab.runDir(guest).resolve(WATCHED_BY);
        if (!Files.isRegularFile(file)) return;
        String vm;
        try {
            vm = Files.readString(file).strip();
        } catch (IOException e) {
            return;
        }
        try {
            LabInstance.release(LabInstance.attach(lab, vm));
        } catch (GuestException notRunning) {
            return;
        }
        throw new GuestException("lab guest '" + guest + "' is already watched by security VM '" + vm + "' (stop it first: vmsight lab stop --name "
                + vm + ")");
    }

    /** The agent's configuration inside the VM, for {@code watched} in ivshmem slot order. */
    static String agentToml(Options o, List<WatchChannels> watched) {
        StringBuilder t = new StringBuilder();
        t.append("# written by vmsight lab boot-security-vm: the agent inside the security VM\n");
        t.append("bundles = \"bundles\"\n");
        if (o.symbols() != null) t.append("symbols = \"symbols").append(Files.isDirectory(o.symbols()) ? "" : "/kallsyms").append("\"\n");
        t.append("interval = \"").append(o.interval().toMillis()).append("ms\"\n");
        t.append("budget_ms = ").append(BUDGET_MS).append('\n');
        t.append("[alerts]\nfile = \"" + PORTS + "vmsight.alerts\"\nstdout = true\n");
        t.append("[metrics]\nlisten = \"127.0.0.1:9464\"\ncycles_file = \"" + PORTS + "vmsight.cycles\"\n");
        for (int i = 0; i < watched.size(); i++) {
            String g = watched.get(i).guest();
            t.append("[[guest]]\nname = \"").append(g).append("\"\n");
            t.append("ivshmem = \"").append(QemuLauncher.ivshmemAddress(i)).append("\"\n");
            t.append("qmp = \"" + PORTS + "vmsight.").append(g).append(".qmp\"\n");
            t.append("qga = \"" + PORTS + "vmsight.").append(g).append(".qga\"\n");
        }
        return t.toString();
    }

    private static void writeBootFiles(Path staging, Options o, List<WatchChannels> watched) throws IOException {
        Path etc = Files.createDirectories(staging.resolve("etc/vmsight"));
        Files.writeString(etc.resolve("agent.toml"), agentToml(o, watched));
        List<String> ports = new ArrayList<>(List.of("vmsight.alerts", "vmsight.cycles"));
        for (WatchChannels w : watched) {
            ports.add("vmsight." + w.guest() + ".qmp");
            ports.add("vmsight." + w.guest() + ".qga");
        }
        Files.write(etc.resolve("ports"), ports);
        Files.writeString(etc.resolve("java-options"), String.join(" ", o.javaOptions()) + "\n");

        Path bundles = Files.createDirectories(etc.resolve("bundles"));
        if (!Files.isDirectory(o.bundles())) throw new GuestException("bundles " + o.bundles() + " is not a directory (vmsight train writes them)");
        try (Stream<Path> s = Files.list(o.bundles())) {
            for (Path f : (Iterable<Path>) s.filter(Files::isRegularFile)::iterator) {
                Files.copy(f, bundles.resolve(f.getFileName().toString()), StandardCopyOption.COPY_ATTRIBUTES);
            }
        }
        if (o.symbols() != null) copySymbols(o.symbols(), Files.createDirectories(etc.resolve("symbols")));

        Path cp = Files.createDirectories(staging.resolve("opt/vmsight/cp"));
        List<String> entries = new ArrayList<>();
        int i = 0;
        for (Path e : o.classpath()) {
            String n = String.format("%03d", i++);
            if (Files.isDirectory(e)) {
                copyTree(e, cp.resolve(n));
                entries.add("/opt/vmsight/cp/" + n);
            } else if (Files.isRegularFile(e)) {
                Files.copy(e, cp.resolve(n + ".jar"));
                entries.add("/opt/vmsight/cp/" + n + ".jar");
            }
        }
        if (entries.isEmpty()) throw new GuestException("the agent's classpath " + o.classpath() + " names no jar or folder that exists");
        Files.writeString(staging.resolve("opt/vmsight/classpath"), String.join(":", entries) + "\n");
    }

    /** Only the kallsyms files of a corpus (its traces are gigabytes and the agent reads none). */
    private static void copySymbols(Path symbols, Path into) throws IOException {
        if (Files.isRegularFile(symbols)) {
            Files.copy(symbols, into.resolve("kallsyms"));
            return;
        }
        try (Stream<Path> s = Files.list(symbols)) {
            for (Path d : (Iterable<Path>) s::iterator) {
                Path k = d.resolve("kallsyms");
                if (Files.isRegularFile(k)) Files.copy(k, Files.createDirectories(into.resolve(d.getFileName().toString())).resolve("kallsyms"));
            }
        }
    }

    private static void cpio(Path dir, Path out) throws IOException {
        ProcessBuilder pb = new ProcessBuilder("sh", "-c", "find . -print0 | LC_ALL=C sort -z | cpio -o -0 -H newc -R 0:0 --quiet")
                .directory(dir.toFile()).redirectOutput(out.toFile()).redirectError(ProcessBuilder.Redirect.PIPE);
        Process p = pb.start();
        String err = new String(p.getErrorStream().readAllBytes());
        try {
            if (p.waitFor() != 0) throw new IOException("cpio failed (apt-get install cpio): " + err.strip());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while cpio ran", e);
        }
    }

    /**
     * base + extra as one initrd. The kernel reads concatenated archives, but an uncompressed one
     * must start on a 4-byte boundary, so the compressed base is padded with zeros.
     */
    private static void concatenate(Path base, Path extra, Path into) throws IOException {
        try (OutputStream out = Files.newOutputStream(into)) {
            long n = Files.copy(base, out);
            out.write(new byte[(int) ((4 - n % 4) % 4)]);
            Files.copy(extra, out);
        }
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(target);
                else Files.copy(p, target);
            }
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) s.sorted(Comparator.reverseOrder())::iterator) Files.delete(p);
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    /** What the agent runs from in the VM: this JVM's classpath (Surefire keeps the real one in surefire.test.class.path). */
    public static List<Path> currentClasspath() {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<Path> out = new ArrayList<>();
        for (String e : cp.split(java.io.File.pathSeparator)) if (!e.isBlank()) out.add(Path.of(e).toAbsolutePath());
        return out;
    }
}
