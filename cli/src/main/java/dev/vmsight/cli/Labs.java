package dev.vmsight.cli;

import dev.vmsight.guests.Guest;
import dev.vmsight.guests.LabLayout;
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

    /**
     * Kernel function names: from {@code given} (System.map or kallsyms text) when set, else the guest's
     * kallsyms saved beside the training corpus of the kernel {@code kernelTextSha256}, when there.
     */
    static java.util.Optional<dev.vmsight.merger.Symbols> kernelSymbols(Path given, String kernelTextSha256) {
        if (given != null) {
            return java.util.Optional.of(dev.vmsight.merger.Symbols.readSystemMap(given));
        }
        if (kernelTextSha256 == null) {
            return java.util.Optional.empty();
        }
        Path saved = dev.vmsight.tracer.capture.TrainingCorpus.kernelSymbolsFile(layout(), kernelTextSha256);
        return Files.isRegularFile(saved) ? java.util.Optional.of(dev.vmsight.merger.Symbols.readSystemMap(saved))
                : java.util.Optional.empty();
    }

    /** The running lab guest {@code name}, as {@code vmsight lab boot} recorded it. */
    public static Guest attach(LabLayout lab, String name) {
        return dev.vmsight.guests.LabInstance.attach(lab, name);
    }

    /** Closes this side's connections; the guest keeps running. */
    public static void release(Guest guest) {
        dev.vmsight.guests.LabInstance.release(guest);
    }

    static String seconds(long nanos) {
        return String.format("%.2f s", nanos / 1e9);
    }
}
