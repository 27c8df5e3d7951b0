package dev.vmsight.guests;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

/**
 * Where the lab's files are, relative to the repository root: the pinned kernel
 * (scripts/lab.env), .lab/kernels, .lab/images, .lab/training and .lab/run. Every lookup of a
 * file that must exist fails with a message naming the file and the command that makes it.
 */
public final class LabLayout {

    public static final int DEFAULT_MEMORY_MIB = 256;
    public static final int DEFAULT_PROCS = 10;
    private static final Duration SCRIPT_TIMEOUT = Duration.ofMinutes(15);

    private final Path root;
    /** The kernel this layout's commands use instead of the pinned one (null: the pinned one). */
    private final KernelPackage kernel;
    /** The CPU model its guests present instead of the configured one (null: VMSIGHT_CPU_MODEL, else qemu64). */
    private final String cpuModel;
    /** Whether its guests, training's included, boot with KASLR. */
    private final boolean kaslr;

    private LabLayout(Path root) {
        this(root, null, null, false);
    }

    private LabLayout(Path root, KernelPackage kernel, String cpuModel, boolean kaslr) {
        this.kernel = kernel;
        this.cpuModel = cpuModel;
        this.kaslr = kaslr;
        this.root = root;
    }

    public static LabLayout at(Path root) {
        Path r = root.toAbsolutePath().normalize();
        if (!Files.isRegularFile(r.resolve("scripts/lab.env"))) {
            throw new GuestException(r + " is not a vmsight checkout: scripts/lab.env is missing");
        }
        return new LabLayout(r);
    }

    /**
     * The checkout: system property {@code vmsight.root} (set by Surefire), else environment
     * variable VMSIGHT_ROOT, else the nearest directory above the working directory with
     * scripts/lab.env.
     */
    public static LabLayout locate() {
        String configured = System.getProperty("vmsight.root", System.getenv("VMSIGHT_ROOT"));
        if (configured != null && !configured.isBlank()) return at(Paths.get(configured));
        for (Path p = Paths.get("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("scripts/lab.env"))) return new LabLayout(p);
        }
        throw new GuestException("cannot find the vmsight checkout (no scripts/lab.env above "
                + Paths.get("").toAbsolutePath() + "); set VMSIGHT_ROOT");
    }

    public Path root() { return root; }

    /**
     * The kernel pinned in scripts/lab.env, overridden by VMSIGHT_KERNEL_ABI / VMSIGHT_KERNEL_FLAVOR
     * or, for any package by name, VMSIGHT_KERNEL_PACKAGE.
     */
    public KernelPackage pinnedKernel() {
        if (kernel != null) return kernel;
        String named = System.getenv("VMSIGHT_KERNEL_PACKAGE");
        if (named != null && !named.isBlank()) return KernelPackage.parse(named.strip());
        return configuredKernel();
    }

    /**
     * The kernel scripts/lab.env pins (VMSIGHT_KERNEL_ABI / VMSIGHT_KERNEL_FLAVOR may override it):
     * its bundles are named without a kernel, every other kernel's with its release.
     */
    public KernelPackage configuredKernel() {
        Properties env = new Properties();
        Path file = root.resolve("scripts/lab.env");
        try (var in = Files.newBufferedReader(file)) {
            env.load(in);
        } catch (IOException e) {
            throw new GuestException("cannot read " + file + ": " + e.getMessage(), e);
        }
        String abi = firstNonBlank(System.getenv("VMSIGHT_KERNEL_ABI"), env.getProperty("VMSIGHT_KERNEL_ABI"));
        String flavor = firstNonBlank(System.getenv("VMSIGHT_KERNEL_FLAVOR"), env.getProperty("VMSIGHT_KERNEL_FLAVOR"));
        if (abi == null || flavor == null) {
            throw new GuestException(file + " must set VMSIGHT_KERNEL_ABI and VMSIGHT_KERNEL_FLAVOR");
        }
        return KernelPackage.of(abi.strip(), flavor.strip());
    }

    /** This lab with {@code kernel} in place of the pinned kernel, for every stage that asks for it (a kernel matrix). */
    public LabLayout withKernel(KernelPackage kernel) {
        return new LabLayout(root, java.util.Objects.requireNonNull(kernel, "kernel"), cpuModel, kaslr);
    }

    /**
     * The QEMU CPU model of this lab's guests (training boots, tests, {@code lab boot} without
     * {@code --cpu}): the one given to {@link #withCpuModel}, else VMSIGHT_CPU_MODEL, else {@link
     * GuestConfig#DEFAULT_CPU_MODEL}. The kernel patches itself at boot by CPU feature, so a
     * program trained on one model is the code of that model.
     */
    public String cpuModel() {
        if (cpuModel != null) return cpuModel;
        String named = System.getenv("VMSIGHT_CPU_MODEL");
        return named == null || named.isBlank() ? GuestConfig.DEFAULT_CPU_MODEL : named.strip();
    }

    /** This lab with guests of CPU model {@code model} (training on another model: {@code vmsight train --cpu}). */
    public LabLayout withCpuModel(String model) {
        return new LabLayout(root, kernel, java.util.Objects.requireNonNull(model, "model"), kaslr);
    }

    /** Whether this lab's guests boot with KASLR ({@link #defaultConfig}; training on a KASLR boot: {@code vmsight train --kaslr}). */
    public boolean kaslr() { return kaslr; }

    /** This lab with its guests booting with KASLR, or not (the default). */
    public LabLayout withKaslr(boolean k) {
        return new LabLayout(root, kernel, cpuModel, k);
    }

    public Path kernelDir(KernelPackage kernel) {
        return root.resolve(".lab/kernels").resolve(kernel.packageName());
    }

    /** The bzImage of {@code kernel}; an error naming the package and the fetch command if it is not there. */
    public Path kernelImage(KernelPackage kernel) {
        Path vmlinuz = kernelDir(kernel).resolve("vmlinuz");
        if (!Files.isRegularFile(vmlinuz)) {
            throw new GuestException("kernel package " + kernel + " is missing: " + vmlinuz + " does not exist (run scripts/fetch-kernel.sh "
                    + kernel.packageName() + ")");
        }
        return vmlinuz;
    }

    public Path imageDir(KernelPackage kernel) {
        return root.resolve(".lab/images").resolve(kernel.packageName());
    }

    /** The guest image for {@code kernel}; an error naming the build command if it is not built. */
    public Path initramfs(KernelPackage kernel) {
        Path image = imageDir(kernel).resolve("initramfs.cpio.gz");
        if (!Files.isRegularFile(image)) {
            throw new GuestException("guest image for " + kernel + " is missing: " + image
                    + " does not exist (run 'vmsight lab build' or guests/build-image.sh)");
        }
        return image;
    }

    public Path trainingDir() { return root.resolve(".lab/training"); }

    public TrainingSymbols trainingSymbols() {
        return TrainingSymbols.load(trainingDir().resolve("symbols.tsv"));
    }

    /** The host copy of a training program (the same file as /training/&lt;name&gt; in the guest). */
    public Path trainingBinary(TrainingProgram program) {
        return trainingDir().resolve("bin").resolve(program.fileName());
    }

    public Path runDir(String instanceName) {
        return root.resolve(".lab/run").resolve(checkName(instanceName));
    }

    /** A default lab configuration for {@code kernel}: 256 MiB, 1 vCPU, 10 sleepers, this lab's {@link #cpuModel()} and {@link #kaslr()}. */
    public GuestConfig defaultConfig(String instanceName, KernelPackage kernel) {
        return new GuestConfig(checkName(instanceName), kernelImage(kernel), initramfs(kernel), DEFAULT_MEMORY_MIB, 1,
                kaslr, DEFAULT_PROCS, runDir(instanceName), cpuModel());
    }

    public GuestConfig defaultConfig(String instanceName) {
        return defaultConfig(instanceName, pinnedKernel());
    }

    /**
     * Fetches {@code kernel} and builds its guest image (scripts/fetch-kernel.sh, then
     * guests/build-image.sh; both do nothing when up to date). Returns the initramfs.
     */
    public Path build(KernelPackage kernel) {
        runScript(List.of(root.resolve("scripts/fetch-kernel.sh").toString(), kernel.packageName()));
        runScript(List.of(root.resolve("guests/build-image.sh").toString(), kernelDir(kernel).toString()));
        return initramfs(kernel);
    }

    /**
     * Builds the security VM's base image for {@code kernel} (guests/build-security-vm-image.sh:
     * busybox, virtio-serial, a jlinked JRE; nothing when up to date) and returns it.
     */
    public Path buildSecurityVmImage(KernelPackage kernel) {
        runScript(List.of(root.resolve("scripts/fetch-kernel.sh").toString(), kernel.packageName()));
        runScript(List.of(root.resolve("guests/build-security-vm-image.sh").toString(), kernelDir(kernel).toString()));
        Path image = imageDir(kernel).resolve("security-vm.cpio.gz");
        if (!Files.isRegularFile(image)) {
            throw new GuestException("guests/build-security-vm-image.sh succeeded but left no image at " + image);
        }
        return image;
    }

    /**
     * Builds the lab rootkit (guests/rootkit/build.sh: vmsight_hide.ko against {@code kernel}'s
     * linux-headers package, installed when missing) and returns the module file.
     */
    public Path buildRootkit(KernelPackage kernel) {
        runScript(List.of(root.resolve("guests/rootkit/build.sh").toString(), kernel.packageName()));
        Path module = root.resolve(".lab/rootkit").resolve(kernel.packageName()).resolve("vmsight_hide.ko");
        if (!Files.isRegularFile(module)) {
            throw new GuestException("guests/rootkit/build.sh succeeded but left no module at " + module);
        }
        return module;
    }

    private void runScript(List<String> command) {
        Path log;
        try {
            Files.createDirectories(root.resolve(".lab"));
            log = Files.createTempFile(root.resolve(".lab"), "script", ".log");
        } catch (IOException e) {
            throw new GuestException("cannot create a log file under " + root.resolve(".lab") + ": " + e.getMessage(), e);
        }
        try {
            Process p = new ProcessBuilder(command).directory(root.toFile()).redirectErrorStream(true)
                    .redirectOutput(log.toFile()).start();
            if (!p.waitFor(SCRIPT_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new GuestException(command.get(0) + " did not finish within " + SCRIPT_TIMEOUT.toMinutes() + " min");
            }
            if (p.exitValue() != 0) {
                List<String> lines = Files.readAllLines(log);
                String last = lines.isEmpty() ? "(no output)" : lines.get(lines.size() - 1);
                throw new GuestException(last.startsWith("build-image:") || last.startsWith("build-security-vm-image:") || last.startsWith("fetch-kernel:") || last.startsWith("rootkit-build:") ? last
                        : Paths.get(command.get(0)).getFileName() + " failed (exit " + p.exitValue() + "): " + last);
            }
        } catch (IOException e) {
            throw new GuestException("cannot run " + command.get(0) + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new GuestException("interrupted running " + command.get(0), e);
        } finally {
            try {
                Files.deleteIfExists(log);
            } catch (IOException ignored) {
                // a leftover log under .lab/ is harmless
            }
        }
    }

    /** Instance names become file and socket names: keep them short and plain. */
    public static String checkName(String name) {
        if (name == null || !name.matches("[A-Za-z0-9][A-Za-z0-9_-]{0,31}")) {
            throw new GuestException("bad lab instance name '" + name + "': use 1-32 letters, digits, '-' or '_'");
        }
        return name;
    }

    private static String firstNonBlank(String a, String b) {
        if (a != null && !a.isBlank()) return a;
        return b == null || b.isBlank() ? null : b;
    }

    public static List<String> tail(Path file, int lines) {
        try {
            if (!Files.exists(file)) return List.of("(" + file + " does not exist)");
            List<String> all = new ArrayList<>();
            for (String l : Files.readAllLines(file, java.nio.charset.StandardCharsets.ISO_8859_1)) all.add(l.strip());
            return all.subList(Math.max(0, all.size() - lines), all.size());
        } catch (IOException e) {
            return List.of("(cannot read " + file + ": " + e.getMessage() + ")");
        }
    }
}
