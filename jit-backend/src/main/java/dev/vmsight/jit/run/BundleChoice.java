package dev.vmsight.jit.run;

import dev.vmsight.guests.GuestException;
import dev.vmsight.merger.MergedProgram;
import dev.vmsight.merger.ProgramFiles;
import dev.vmsight.merger.RunContext;
import dev.vmsight.vmi.paging.AddressSpace;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Which bundle of a program applies to a guest: the first whose trained kernel code, placed in the
 * guest's boot (KASLR), is the guest's own code ({@link KernelCodeCheck}). Bundles of several
 * kernels sit side by side in one directory ({@code PROGRAM-POLICY-RUNS.vmprog}, as {@code vmsight
 * train} names them); the kernel's identity is its code in the guest's memory, not a name. When
 * none applies the refusal is one line naming the guest's kernel (its banner, read from its
 * memory) and the kernel of every bundle tried.
 */
public final class BundleChoice {

    private static final Pattern NAME = Pattern.compile("([a-z]+)-([a-z]+)-(\\d+)(?:\\.[0-9][A-Za-z0-9.+~_-]*)?\\.vmprog");
    private static final Duration BANNER_BUDGET = Duration.ofSeconds(2);

    /** The bundle chosen: its file, the program as trained, and the program placed in the guest with its code checked. */
    public record Chosen(Path file, MergedProgram trained, ProgramRuns.Placed placed, KernelCodeCheck.Match match) { }

    private BundleChoice() { }

    /**
     * The bundles of {@code program} in {@code dir}: the DATA policy before the others, more runs
     * first (the agent's order).
     */
    public static List<Path> candidates(Path dir, String program) {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> {
                Matcher m = NAME.matcher(f.getFileName().toString());
                return m.matches() && m.group(1).equals(program);
            }).sorted(Comparator.comparing((Path f) -> !policy(f).equals("data")).thenComparing(f -> -runs(f))
                    .thenComparing(Path::toString)).toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list bundle directory " + dir + ": " + e.getMessage(), e);
        }
    }

    private static String policy(Path f) {
        Matcher m = NAME.matcher(f.getFileName().toString());
        return m.matches() ? m.group(2) : "";
    }

    private static int runs(Path f) {
        Matcher m = NAME.matcher(f.getFileName().toString());
        return m.matches() ? Integer.parseInt(m.group(3)) : 0;
    }

    /**
     * The first of {@code files} that applies to {@code source}.
     *
     * @param program what the user asked for (for the refusal)
     * @throws GuestException one line naming the guest's kernel and each bundle's, when none applies
     */
    public static Chosen choose(String program, List<Path> files, GuestSource source) {
        List<String> tried = new ArrayList<>();
        List<String> releases = new ArrayList<>();
        for (Path f : files) {
            MergedProgram trained;
            try {
                trained = ProgramFiles.read(f);
            } catch (dev.vmsight.merger.ProgramFormatException e) {
                tried.add(f.getFileName() + " (unreadable: " + e.getMessage() + ")");
                continue;
            }
            try {
                ProgramRuns.Placed placed = ProgramRuns.place(trained, source);
                AddressSpace space = AddressSpace.of(placed.attached().memory(), placed.attached().vcpu());
                KernelCodeCheck.Match match = KernelCodeCheck.verify(ProgramRuns.kernelCode(placed.program()), space,
                        source.describe(), placed.program().features());
                return new Chosen(f, trained, placed, match);
            } catch (RunContext.ContextException | KernelCodeCheck.KernelMismatchException | IllegalArgumentException e) {
                tried.add(f.getFileName() + " (" + trainedFor(trained) + " on " + cpuModel(f, trained) + ": " + reason(e) + ")");
                releases.add(trained.kernelRelease());
            }
        }
        java.util.Optional<String> release = KernelBanner.read(source, BANNER_BUDGET).map(KernelBanner::release);
        String guestKernel = release.map(r -> "Linux " + r).orElse("a kernel whose banner was not found");
        boolean sameRelease = release.isPresent() && releases.contains(release.get());
        throw new GuestException("no " + program + " bundle for " + source.describe() + ", which runs " + guestKernel
                + (sameRelease ? " (a bundle of the same release does not fit: the kernel patched itself differently at boot,"
                        + " for another CPU model's features, or it is another build of that release)" : "")
                + (tried.isEmpty() ? "; there are none" : "; tried " + String.join("; ", tried))
                + "; train one for it with: " + trainCommand(program, release.orElse(null))
                + (sameRelease ? " --cpu MODEL (the guest's QEMU CPU model)" : ""));
    }

    /** How to train {@code program} for a guest of {@code release}: the Debian package of that release. */
    static String trainCommand(String program, String release) {
        if (release == null) return "vmsight train " + program + " --kernel PACKAGE (the guest's Debian kernel image package)";
        return "vmsight train " + program + " --kernel linux-image-" + release;
    }

    /**
     * The CPU model a bundle was trained on, from its name: {@code PROGRAM-POLICY-RUNS.RELEASE.MODEL[.kaslr].vmprog}
     * for a model other than {@link dev.vmsight.guests.GuestConfig#DEFAULT_CPU_MODEL}, which the other names mean.
     */
    static String cpuModel(Path file, MergedProgram trained) {
        String name = file.getFileName().toString();
        String release = "." + trained.kernelRelease() + ".";
        int at = name.indexOf(release);
        int end = name.length() - (name.endsWith(".kaslr.vmprog") ? ".kaslr.vmprog" : ".vmprog").length();
        // PROGRAM-POLICY-RUNS.RELEASE.vmprog: the release's second dot is the one before "vmprog"
        if (at < 0 || !name.endsWith(".vmprog") || at + release.length() >= end) return dev.vmsight.guests.GuestConfig.DEFAULT_CPU_MODEL;
        return name.substring(at + release.length(), end);
    }

    /** The kernel a program was trained on, for people: its release and build hash. */
    public static String trainedFor(MergedProgram p) {
        String sha = p.kernelTextSha256();
        return "trained on " + p.kernelRelease() + ", kernel text sha256 " + (sha.length() > 12 ? sha.substring(0, 12) : sha);
    }

    /** What is left of a refusal's message once the guest's name is said elsewhere. */
    private static String reason(RuntimeException e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        int colon = m.indexOf("trained on: ");
        return colon >= 0 ? m.substring(colon + "trained on: ".length()) : m;
    }
}
