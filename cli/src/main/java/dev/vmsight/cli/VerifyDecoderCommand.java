package dev.vmsight.cli;

import dev.vmsight.guests.LabLayout;
import dev.vmsight.ir.verify.decoder.DecoderOracle;
import dev.vmsight.ir.verify.decoder.DecoderReport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code vmsight verify decoder}: the objdump oracle over the Debian kernel's .text. Prints the
 * details (mismatches, refused mnemonics, speed), then the one-line summary last; exits 1 on any
 * mismatch.
 */
@Command(name = "decoder", mixinStandardHelpOptions = true,
        description = "Decode every instruction objdump finds in the kernel's .text and compare length and mnemonic.")
final class VerifyDecoderCommand implements Callable<Integer> {

    @Option(names = "--kernel", paramLabel = "DIR",
            description = "kernel directory holding vmlinux (default: the pinned kernel under .lab/kernels)")
    Path kernelDir;

    @Option(names = "--section", defaultValue = ".text", description = "ELF section to compare (default: ${DEFAULT-VALUE})")
    String section;

    @Override
    public Integer call() {
        Path dir = kernelDir;
        if (dir == null) {
            LabLayout lab = Labs.layout();
            dir = lab.kernelDir(lab.pinnedKernel());
        }
        Path vmlinux = dir.resolve("vmlinux");
        if (!Files.isRegularFile(vmlinux)) {
            throw new IllegalArgumentException(vmlinux + " does not exist (run scripts/fetch-kernel.sh, or pass --kernel DIR)");
        }
        DecoderReport report = DecoderOracle.run(vmlinux, section);
        System.out.println(report.details());
        System.out.println(report.summaryLine());
        return report.mismatchCount() == 0 ? 0 : 1;
    }
}
