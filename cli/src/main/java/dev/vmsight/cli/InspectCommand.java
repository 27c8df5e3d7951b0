package dev.vmsight.cli;

import dev.vmsight.merger.Inspector;
import dev.vmsight.merger.MergedProgram;
import dev.vmsight.merger.ProgramFiles;
import dev.vmsight.merger.Symbols;
import dev.vmsight.slicer.Slicer;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code vmsight inspect PROGRAM}: the merged program's listing and statistics. */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "List a program file: instructions with their µops (sliced ones marked), guards, live-ins, inputs, statistics.")
final class InspectCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "PROGRAM", description = "a program file written by 'vmsight merge'")
    Path file;

    @Option(names = "--symbols", paramLabel = "FILE",
            description = "System.map or /proc/kallsyms text naming kernel functions (the lab vmlinux has no symbols; "
                    + "default: the guest's kallsyms saved beside the training corpus, when there)")
    Path symbols;

    @Option(names = "--binary", paramLabel = "ELF",
            description = "the training binary naming user functions (default .lab/training/bin/PROGRAM when present)")
    Path binary;

    @Option(names = "--no-uops", description = "list instructions only, without their µops")
    boolean noUops;

    @Override
    public Integer call() {
        MergedProgram p = ProgramFiles.read(file);
        PrintWriter out = spec.commandLine().getOut();
        out.print(Inspector.listing(p, kernelSymbols(p).plus(userSymbols(p)), !noUops));
        out.flush();
        return 0;
    }

    private Symbols kernelSymbols(MergedProgram p) {
        Symbols s = Labs.kernelSymbols(symbols, p.kernelTextSha256()).orElse(Symbols.none());
        // the saved kallsyms are a nokaslr boot's; a program trained on a KASLR boot holds that boot's addresses
        long slide = p.runContext().layout().text() - dev.vmsight.merger.KernelLayout.NOKASLR.text();
        return symbols == null && slide != 0 ? s.slid(slide) : s;
    }

    private Symbols userSymbols(MergedProgram p) {
        Optional<Path> elf = binary != null ? Optional.of(binary) : Slicer.trainingBinary(Labs.layout().root(), p.name());
        return elf.map(e -> Symbols.ofFunctions(Slicer.functionSymbols(e))).orElse(Symbols.none());
    }
}
