package dev.vmsight.cli;

import dev.vmsight.ir.verify.cpu.CpuOracle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code vmsight verify cpu}: the host CPU as the oracle for decoder + lifter + interpreter.
 * Prints the first mismatches, then one summary line; exits 1 if anything disagreed.
 */
@Command(name = "cpu", mixinStandardHelpOptions = true,
        description = "Run every user-mode instruction form natively and in the µop interpreter on random states; "
                + "ends with a one-line summary.")
final class VerifyCpuCommand implements Callable<Integer> {

    @Option(names = "--states", description = "random states per form (default ${DEFAULT-VALUE})", defaultValue = "1000")
    int states;

    @Option(names = "--seed", description = "random seed (default ${DEFAULT-VALUE})", defaultValue = "20261125")
    long seed;

    @Option(names = "--root", description = "repository root: .lab/bin gets the native harness (default: the checkout, as the lab commands find it)")
    Path root;

    @Option(names = "--show", description = "mismatches to print before the summary (default ${DEFAULT-VALUE})", defaultValue = "20")
    int show;

    @Option(names = "--undefined-flags", description = "also print how often the lifter's model of each SDM-undefined flag matched this CPU")
    boolean undefinedFlags;

    @Override
    public Integer call() throws Exception {
        if (states < 1) {
            throw new IllegalArgumentException("--states must be at least 1, got " + states);
        }
        Path r = root != null ? root : Labs.layout().root();
        if (!Files.isDirectory(r)) {
            throw new IllegalArgumentException("--root " + r + " is not a directory");
        }
        CpuOracle.Report report = CpuOracle.run(r.toAbsolutePath(), states, seed, null);
        report.mismatches().stream().limit(show).forEach(m -> System.out.println("mismatch: " + m));
        report.nativeReruns().forEach(note -> System.out.println("native re-run: " + note));
        if (undefinedFlags) {
            report.undefinedFlagAgreement().forEach((k, v) ->
                    System.out.printf("undefined %-12s model = cpu in %,d of %,d cases (%.1f%%)%n", k, v[0], v[1], 100.0 * v[0] / v[1]));
        }
        System.out.println(report.summary());
        return report.mismatchCount() == 0 ? 0 : 1;
    }
}
