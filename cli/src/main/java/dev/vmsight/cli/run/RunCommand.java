package dev.vmsight.cli.run;

import dev.vmsight.jit.run.GuestSource;
import dev.vmsight.jit.run.GuestSources;
import dev.vmsight.jit.run.ProgramRuns;
import dev.vmsight.jit.run.RunOutcome;
import dev.vmsight.jit.run.BundleChoice;
import dev.vmsight.jit.run.KernelCodeCheck;

import dev.vmsight.guests.GuestException;
import dev.vmsight.jit.CompiledMonitor;
import dev.vmsight.merger.MergedProgram;
import dev.vmsight.merger.ProgramFiles;
import dev.vmsight.vmi.Budget;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code vmsight run PROGRAM|DIR <source>}: runs a merged program against a guest and prints its
 * answer. The program is first placed in the guest's boot (its KASLR layout) and the kernel code
 * it executes compared with the guest's own, read through the guest's page tables ({@link
 * KernelCodeCheck}); from a directory, the bundle whose code matches is run ({@link BundleChoice}).
 * Another build or other boot patching is refused in one line naming both kernels. Exit codes:
 * 0 answer, 3 unseen path, 4 guest error, 5 budget, 2 setup errors (one "vmsight:" line).
 */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = "Run a merged program (vmsight merge) against a live guest, a RAM file, a libvirt domain or an ELF dump.")
public final class RunCommand implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "PROGRAM",
            description = "a merged program file, or a directory of bundles (vmsight train's PROGRAM-POLICY-RUNS.vmprog, several "
                    + "kernels side by side): the one whose kernel code is the guest's is run")
    Path programFile;

    @Option(names = "--program", paramLabel = "NAME", description = "with a bundle directory: which program (pslist, getpid...)")
    String programName;

    @Mixin SourceOptions source = new SourceOptions();

    @Option(names = "--input", paramLabel = "VALUE", description = "the program's input: an integer (decimal or 0x hex, e.g. a PID or a 64-bit module base 0xffffffffc0234000; written little-endian in the input buffer's width) or a string")
    String input;

    @Option(names = "--process-registers", paramLabel = "SNAPSHOT",
            description = "a training START snapshot (.lab/corpus/.../run-0.snapshot) whose process registers (rsp, rip, GPRs) "
                    + "the program starts with; machine registers (CR3, per-CPU base) stay the guest's")
    Path processRegisters;

    @Option(names = "--json", description = "print one JSON object instead of text")
    boolean json;

    @Option(names = "--backend", defaultValue = "jit", description = "jit (compiled bytecode) or reference (the ir interpreter); default ${DEFAULT-VALUE}")
    String backend;

    @Option(names = "--budget-steps", defaultValue = "10000000", description = "back edges allowed (default ${DEFAULT-VALUE})")
    long budgetSteps;

    @Option(names = "--budget-ms", defaultValue = "2000", description = "wall time allowed per run in ms (default ${DEFAULT-VALUE})")
    long budgetMillis;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        if (!Files.isRegularFile(programFile) && !Files.isDirectory(programFile)) {
            throw new GuestException("program file " + programFile + " does not exist or is not a regular file");
        }
        List<Path> bundles;
        if (Files.isDirectory(programFile)) {
            if (programName == null) {
                throw new GuestException(programFile + " is a bundle directory: say which program with --program NAME");
            }
            bundles = BundleChoice.candidates(programFile, programName);
            if (bundles.isEmpty()) {
                throw new GuestException("no " + programName + " bundle (" + programName + "-POLICY-RUNS.vmprog) in " + programFile
                        + "; train one with: vmsight train " + programName);
            }
        } else {
            bundles = List.of(programFile);
        }
        if (budgetSteps <= 0 || budgetMillis <= 0) {
            throw new GuestException("--budget-steps and --budget-ms must be positive");
        }
        MergedProgram program = ProgramFiles.read(bundles.get(0));
        byte[] in = ProgramRuns.inputBytes(program, input);
        if (!backend.equals("jit") && !backend.equals("reference")) {
            throw new GuestException("--backend must be jit or reference, not '" + backend + "'");
        }
        RunOutcome outcome;
        dev.vmsight.vmi.vcpu.VcpuState trainedStart = null;
        if (processRegisters != null) {
            if (!Files.isRegularFile(processRegisters)) {
                throw new GuestException("--process-registers " + processRegisters + " does not exist or is not a regular file");
            }
            try (var snap = dev.vmsight.vmi.snapshot.Snapshot.open(processRegisters)) {
                trainedStart = snap.registers();
            }
        }
        try (GuestSource opened = GuestSources.open(source.spec(), source.cpu())) {
            GuestSource guest = trainedStart == null ? opened : ProgramRuns.withTrainingProcess(opened, trainedStart);
            // the bundle whose code, placed at this guest's kernel layout (KASLR), is the guest's; then compiled
            BundleChoice.Chosen chosen = BundleChoice.choose(program.name(), bundles, guest);
            MergedProgram here = chosen.placed().program();
            Budget budget = Budget.of(budgetSteps, Duration.ofMillis(budgetMillis));
            ProgramRuns.Settled settled = ProgramRuns.runSettled(chosen.placed(), backend.equals("jit") ? ProgramRuns.compile(here) : null,
                    guest, in, budget);
            outcome = settled.outcome();
            PrintWriter err = spec.commandLine().getErr();
            for (int i = 0; i < settled.earlier().size(); i++) {
                // said, not hidden: what is printed below is the outcome of a later pause
                RunOutcome.UnseenPath u = settled.earlier().get(i);
                err.println("vmsight: pause " + (i + 1) + ": unseen path at 0x" + Long.toHexString(u.site()) + " (went to 0x"
                        + Long.toHexString(u.observed()) + "); the guest ran " + ProgramRuns.SETTLE.toMillis() + " ms and was paused again");
            }
            err.flush();
        }
        out.println(json ? outcome.toJson() : outcome.toText());
        out.flush();
        return outcome.exitCode();
    }

}
