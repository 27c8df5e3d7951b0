package dev.vmsight.cli;

import dev.vmsight.merger.Inspector;
import dev.vmsight.merger.MergedProgram;
import dev.vmsight.merger.ProgramFiles;
import dev.vmsight.merger.Symbols;
import java.io.PrintWriter;
import java.nio.file.Path;
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
            description = "System.map or /proc/kallsyms text naming kernel functions (the lab vmlinux has no symbols)")
    Path symbols;

    @Option(names = "--no-uops", description = "list instructions only, without their µops")
    boolean noUops;

    @Override
    public Integer call() {
        MergedProgram p = ProgramFiles.read(file);
        Symbols s = symbols == null ? Symbols.none() : Symbols.readSystemMap(symbols);
        PrintWriter out = spec.commandLine().getOut();
        out.print(Inspector.listing(p, s, !noUops));
        out.flush();
        return 0;
    }
}
