package dev.vmsight.tracer.capture;

import dev.vmsight.guests.ExecResult;
import dev.vmsight.guests.LabLayout;
import dev.vmsight.guests.QemuGuest;
import dev.vmsight.guests.TrainingProgram;
import dev.vmsight.guests.TrainingSymbols;
import dev.vmsight.guests.gdb.GdbClient;
import dev.vmsight.guests.gdb.X86Registers;
import dev.vmsight.guests.vcpu.GuestVcpuStates;
import dev.vmsight.ir.interp.MachineState;
import dev.vmsight.ir.sys.CpuFeatures;
import dev.vmsight.ir.sys.SystemMachine;
import dev.vmsight.ir.sys.SystemTables;
import dev.vmsight.ir.uop.Loc;
import dev.vmsight.tracer.lockstep.GuestTrainer;
import dev.vmsight.tracer.lockstep.LearnedValue;
import dev.vmsight.tracer.lockstep.Lockstep;
import dev.vmsight.tracer.lockstep.LockstepResult;
import dev.vmsight.tracer.lockstep.LockstepSession;
import dev.vmsight.tracer.trace.TraceHeader;
import dev.vmsight.tracer.trace.TraceHeader.BufferSpec;
import dev.vmsight.tracer.trace.TraceSink;
import dev.vmsight.tracer.trace.TraceSummary;
import dev.vmsight.vmi.paging.AddressSpace;
import dev.vmsight.vmi.phys.MemoryMap;
import dev.vmsight.vmi.phys.PhysicalMemories;
import dev.vmsight.vmi.phys.PhysicalMemory;
import dev.vmsight.vmi.snapshot.SnapshotWriter;
import dev.vmsight.vmi.vcpu.VcpuState;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;

/**
 * Whole-system traces of training programs on a lab guest (QEMU, 1 vCPU). One run:
 * <ol>
 *   <li>start the trainer through qemu-ga (as its {@link Variation} says), stop at {@code main}
 *       (filtered by argv), then at START = {@code vmsight_mark_in} (filtered by CR3);</li>
 *   <li>snapshot at START: gdbstub registers, GDTR/IDTR/TSS from HMP, RAM copied from the shared
 *       RAM file while the guest is stopped, the input buffer (rdi, rsi);</li>
 *   <li>a lockstep prefix: QEMU and the interpreter step together from START for
 *       {@link TraceOptions#minPrefixSteps()} steps (every register compared), learning the syscall
 *       MSRs and every rdtsc/cpuid/rdmsr/in value on the way; the values needed after it are
 *       learned from QEMU at full speed at the instructions that need them ({@link SiteLearner});</li>
 *   <li>QEMU stops at END = {@code vmsight_mark_out} in the trainer's CR3 (within the seconds
 *       budget: else the trainer is killed and the run reported); its output buffer is the
 *       expected answer; the program then finishes (exit code, stdout);</li>
 *   <li>the replay of START..END from the copy (copy-on-write) writes the trace; a value the prefix
 *       did not learn re-runs the whole run with a prefix reaching that step (bounded retries);</li>
 *   <li>fidelity: replayed output == expected, else the trace is renamed {@code *.rejected} and a
 *       full lockstep run of the same program and variation finds the first divergence.</li>
 * </ol>
 * Not thread-safe: one run at a time per guest.
 */
public final class Tracer {
    /** How long the trainer may take to reach START, or to finish once released. */
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration EXEC_TIMEOUT = Duration.ofSeconds(30);
    /** The largest mark buffer read from the guest. */
    private static final int MAX_BUFFER = 16 << 20;
    private static final String EXTRA_SLEEPERS_FILE = "/run/vmsight-extra-sleepers";
    /**
     * Context key: how many times this tracer ran the same trainer on this guest before the run
     * traced (an attempt the replay rejected or needed a longer prefix for ran it too). 0 on a
     * guest booted for the tracer means the trace is the trainer's first run since boot: kernel
     * caches it fills (the /proc dentries a listing creates) start cold.
     */
    public static final String EARLIER_RUNS = "trainer.earlierRuns";

    private final QemuGuest guest;
    private final LabLayout lab;
    private final TraceOptions options;
    private final PrintStream log;
    private final ReplayStage replayStage;
    private final BiFunction<Path, TraceHeader, TraceSink> sinks;
    private final TrainingSymbols symbols;
    private final CpuFeatures features;
    private final TraceHeader.GuestIdentity identity;
    /** KernelSymbols of this boot, recorded in every header's context */
    private final Map<String, String> kernelSymbols;
    /** The region bases of the traced boot (KernelSymbols.regionBases), read at the first START. */
    private Map<String, String> regionBases;
    /** the workload the guest runs now (what {@link #prepareWorkload} set last) */
    private Variation currentWorkload = Variation.BASELINE;
    /** Runs of each trainer this tracer started on this guest (captures, retries, divergence lockstep runs). */
    private final Map<String, Integer> trainerRuns = new java.util.HashMap<>();
    private Progress progress = Progress.NONE;

    /** Progress of long replays (a progress bar): called every few thousand instructions, then once when done. */
    public interface Progress {
        Progress NONE = new Progress() {
            @Override public void replayed(String program, long steps) { }

            @Override public void done() { }
        };

        void replayed(String program, long steps);

        void done();
    }

    /**
     * @param guest   a QEMU lab guest with 1 vCPU (as {@link Lockstep#bootGuest} boots)
     * @param log     progress lines (phases, learned values, retries); null for none
     */
    public Tracer(QemuGuest guest, LabLayout lab, TraceOptions options, PrintStream log) {
        this(guest, lab, options, log, ReplayStages.standard(), ReplayStages::traceFile);
    }

    Tracer(QemuGuest guest, LabLayout lab, TraceOptions options, PrintStream log, ReplayStage replayStage,
           BiFunction<Path, TraceHeader, TraceSink> sinks) {
        if (guest.config().cpus() != 1) {
            throw new IllegalArgumentException("lab guest '" + guest.name() + "' has " + guest.config().cpus() + " vCPUs; tracing "
                    + "needs 1: the lockstep prefix single-steps one vCPU through the gdbstub, and the replay models no other "
                    + "CPU writing memory between START and END (boot it with --cpus 1)");
        }
        this.guest = guest;
        this.lab = lab;
        this.options = options;
        this.log = log;
        this.replayStage = replayStage;
        this.sinks = sinks;
        this.symbols = lab.trainingSymbols();
        this.features = GuestTrainer.cpuFeatures(guest);
        this.identity = identify(guest);
        this.kernelSymbols = KernelSymbols.read(guest, EXEC_TIMEOUT);
    }

    /** The guest's identity as it goes into every header (kernel .text hash, release, vCPUs, RAM). */
    public TraceHeader.GuestIdentity guestIdentity() { return identity; }

    public void setProgress(Progress progress) { this.progress = progress == null ? Progress.NONE : progress; }

    public CpuFeatures cpuFeatures() { return features; }

    /**
     * One traced run of {@code program args} under {@code variation}, written to {@code traceFile}
     * (and the START snapshot to {@code traceFile} with extension {@code .snapshot} when asked).
     *
     * @throws TraceBudgetException when the trainer does not reach END within the budget
     */
    public TracedRun trace(TrainingProgram program, List<String> args, Variation variation, int runIndex, Path traceFile) {
        long t0 = System.nanoTime();
        List<String> argv = new ArrayList<>(List.of(program.guestPath()));
        argv.addAll(args);
        setWorkload(variation);
        long requiredPrefix = 0;
        java.util.Set<Long> extraSites = new java.util.HashSet<>();
        int retries = 0;
        while (true) {
            say("%s run %d: starting (%s)", program.fileName(), runIndex, variation.shellCommand(argv));
            StartCapture capture;
            try {
                capture = capture(program, argv, variation, requiredPrefix, extraSites);
            } catch (SiteLearner.OffPath e) {
                if (retries >= options.maxRetries()) {
                    throw new TraceBudgetException(program.fileName() + ": QEMU left the replay's path in " + (retries + 1)
                            + " runs in a row (interrupts between START and END): " + e.getMessage(), e);
                }
                retries++;
                say("%s run %d: %s; tracing a new run of the trainer (retry %d)", program.fileName(), runIndex, e.getMessage(), retries);
                restoreDentryCache(variation);
                continue;
            }
            say("%s run %d: prefix %,d lockstep steps, values from QEMU at %d sites (matched exactly %d, by rsp %d, by order %d), "
                    + "QEMU reached END in %.1f s, %d output bytes", program.fileName(), runIndex, capture.prefixSteps(), capture.sites(),
                    capture.valueMatches()[0], capture.valueMatches()[1], capture.valueMatches()[2], capture.captureSeconds(),
                    capture.expectedOutput().length());
            Map<String, String> context = new LinkedHashMap<>(variation.context());
            context.put("run", String.valueOf(runIndex));
            context.put("guest.dentryHashEntries", String.valueOf(guest.config().dentryHashEntries()));
            context.put("launch", variation.shellCommand(argv));
            context.put("prefix.steps", String.valueOf(capture.prefixSteps()));
            context.put("prefix.retries", String.valueOf(retries));
            context.put("env.learned", String.valueOf(capture.values().size()));
            context.put("qemu.valueSites", String.valueOf(capture.sites()));
            context.put("qemu.unevenSites", String.valueOf(capture.unevenSites()));
            context.put("qemu.valuesMatched", String.format("exact %d, by rsp %d, by order %d", capture.valueMatches()[0],
                    capture.valueMatches()[1], capture.valueMatches()[2]));
            context.put("prefix.divergences", String.valueOf(capture.prefixDivergences().size()));
            context.put("trainer.exitCode", String.valueOf(capture.exitCode()));
            context.put(EARLIER_RUNS, String.valueOf(trainerRuns.getOrDefault(program.fileName(), 0) - 1));
            context.putAll(kernelSymbols);
            context.putAll(regionBases);
            context.put(TRAINER_SHA256, sha256(lab.trainingBinary(program)));
            TraceHeader header = header(program, args, capture, context);
            try {
                return finish(program, argv, variation, traceFile, capture, header, retries, t0);
            } catch (TraceBudgetException e) {
                deleteQuietly(traceFile);
                throw new TraceBudgetException(program.guestPath() + ": " + e.getMessage(), e);
            } catch (ReplayStage.NeedsLongerPrefix e) {
                deleteQuietly(traceFile);
                if (retries >= options.maxRetries()) {
                    throw new TraceBudgetException(program.fileName() + ": the replay still needs values the lockstep prefix did "
                            + "not learn after " + retries + " longer prefixes: " + e.getMessage(), e);
                }
                if (e.step() + 1 > options.maxInstructions()) {
                    throw new TraceBudgetException(program.fileName() + ": the replay needs a value at step " + e.step()
                            + ", beyond the instruction budget " + options.maxInstructions() + " for the lockstep prefix: " + e.getMessage(), e);
                }
                retries++;
                requiredPrefix = Math.max(e.step() + 1, requiredPrefix + 1);
                say("%s run %d: %s; re-running with a prefix of at least %,d steps (retry %d)", program.fileName(), runIndex,
                        e.getMessage(), requiredPrefix, retries);
                restoreDentryCache(variation);
            }
        }
    }

    /** Header context key: SHA-256 of the training binary the run traced (the host copy of the guest's /training file). */
    public static final String TRAINER_SHA256 = "trainer.sha256";

    /** Hex SHA-256 of a file. */
    static String sha256(Path file) {
        try {
            java.security.MessageDigest md = java.security.MessageDigest.getInstance("SHA-256");
            return java.util.HexFormat.of().formatHex(md.digest(Files.readAllBytes(file)));
        } catch (IOException | java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("cannot hash " + file + ": " + e.getMessage(), e);
        }
    }

    /** Kills the extra sleepers a variation started (the guest's workload returns to its boot size). */
    public void resetWorkload() {
        setWorkload(Variation.BASELINE);
    }

    private TracedRun finish(TrainingProgram program, List<String> argv, Variation variation, Path traceFile,
                             StartCapture capture, TraceHeader header, int retries, long t0) {
        ReplayStage.Request request = new ReplayStage.Request(header.start(), capture.ram(), features, capture.values(),
                header.marks().markOut(), header.marks().cr3(), options.maxInstructions(), options.maxSeconds());
        ReplayStage.Outcome outcome;
        createParent(traceFile);
        try (TraceSink sink = sinks.apply(traceFile, header)) {
            try {
                outcome = replayStage.replay(request, sink, (steps, rip) -> progress.replayed(program.fileName(), steps));
            } finally {
                progress.done();
            }
            byte[] expected = capture.expectedOutput().bytes();
            boolean fidelity = outcome.reachedEnd() && Arrays.equals(outcome.output(), expected);
            TraceSummary summary = new TraceSummary(outcome.instructions(), outcome.uops(), outcome.kernelInstructions(),
                    outcome.userInstructions(), outcome.distinctSites(), outcome.deliveries(), outcome.translations(),
                    outcome.envInputs(), outcome.reachedEnd(), outcome.output() == null ? new byte[0] : outcome.output(), fidelity,
                    outcome.seconds());
            sink.finish(summary);
            Path snapshot = options.saveSnapshot() ? saveSnapshot(traceFile, header, capture) : null;
            Path file = traceFile;
            String divergence = null;
            if (!fidelity) {
                file = traceFile.resolveSibling(traceFile.getFileName() + ".rejected");
                move(traceFile, file);
                divergence = findDivergence(program, argv, variation, outcome, expected);
            }
            return new TracedRun(file, snapshot, program.fileName(), header.context(), summary, expected, capture.prefixSteps(),
                    retries, capture.learnedLines(), capture.captureSeconds(), (System.nanoTime() - t0) / 1e9,
                    capture.exitCode(), capture.programOutput(), divergence);
        }
    }

    // ---- steps (a)-(d): the guest's side

    private StartCapture capture(TrainingProgram program, List<String> argv, Variation variation, long requiredPrefix,
                                 java.util.Set<Long> extraSites) {
        long main = symbols.address(program, TrainingSymbols.MAIN);
        long markIn = symbols.address(program, TrainingSymbols.MARK_IN);
        long markOut = symbols.address(program, TrainingSymbols.MARK_OUT);
        trainerRuns.merge(program.fileName(), 1, Integer::sum);
        long shell = GuestTrainer.spawn(guest, variation.shellCommand(argv));
        StartCapture partial;
        try (GdbClient gdb = GdbClient.connect(guest.gdbSocket(), Duration.ofSeconds(10));
             PhysicalMemory live = PhysicalMemories.ramFile(guest.ramFile(), MemoryMap.identity(GuestTrainer.ramSize(guest)))) {
            X86Registers start = GuestTrainer.stopAtStart(gdb, main, markIn, argv, STOP_TIMEOUT);
            long t0 = System.nanoTime();
            SystemTables tables = SystemTables.fromInfoRegisters(guest.hmp("info registers"));
            // The RAM file is consistent only while the guest is stopped: copy it before anything steps.
            CopiedRam ram = CopiedRam.copy(live, "guest RAM at START of " + program.fileName());
            if (regionBases == null) {
                regionBases = KernelSymbols.regionBases(ram, start.cr3(), kernelSymbols);
            }
            BufferSpec input = buffer(gdb, ram, start, "input", start.rdi(), start.rsi());

            LockstepSession prefix = new LockstepSession(gdb, live, tables, features, start);
            boolean reachedEnd = false;
            long prefixLength = Math.min(options.maxInstructions(), Math.max(options.minPrefixSteps(), requiredPrefix));
            while (prefix.steps() < prefixLength) {
                X86Registers now = prefix.step(null, false).after();
                if (now.rip() == markOut && now.cr3() == start.cr3()) {
                    reachedEnd = true;
                    break;
                }
            }
            List<LearnedValue> values = new ArrayList<>(prefix.values());
            Map<Integer, Long> locations = prefix.learnedLocations();
            List<String> lines = new ArrayList<>(prefix.learned());
            int sites = 0, uneven = 0;
            int[] matches = new int[3];
            X86Registers end;
            if (reachedEnd) {
                end = prefix.current();
            } else {
                gdb.insertHardwareBreakpoint(markOut);   // QEMU must not run past END while values are learned
                SiteLearner learner = new SiteLearner(gdb, markOut, ram, start, tables, features, prefix.values(), locations,
                        prefix.steps());
                end = learner.run(options.maxInstructions(), options.maxSeconds(), extraSites);
                gdb.removeHardwareBreakpoint(markOut);
                values.addAll(learner.learned());
                locations = learner.learnedLocations();
                lines.addAll(learner.lines());
                sites = learner.sites();
                uneven = learner.unevenSites();
                matches = learner.matches();
            }
            BufferSpec expected = buffer(gdb, live, end, "output", end.rdi(), end.rsi());
            double seconds = (System.nanoTime() - t0) / 1e9;
            partial = new StartCapture(start, tables, ram, input, prefix.steps(), sites, uneven, matches, values, locations, lines,
                    prefix.divergences(), expected, seconds, -1, "");
        } catch (TraceBudgetException e) {
            throw new TraceBudgetException(program.guestPath() + ": " + e.getMessage() + "; " + killTrainer(program), e);
        } catch (SiteLearner.OffPath e) {
            GuestTrainer.awaitExit(guest, shell, program.guestPath(), STOP_TIMEOUT);   // released: it runs to its end
            throw e;
        }
        ExecResult exit = GuestTrainer.awaitExit(guest, shell, program.guestPath(), STOP_TIMEOUT);
        return new StartCapture(partial.start(), partial.tables(), partial.ram(), partial.input(), partial.prefixSteps(),
                partial.sites(), partial.unevenSites(), partial.valueMatches(), partial.values(), partial.learnedLocations(), partial.learnedLines(), partial.prefixDivergences(),
                partial.expectedOutput(), partial.captureSeconds(), exit.exitCode(), exit.stdout() + exit.stderr());
    }

    private String killTrainer(TrainingProgram program) {
        ExecResult r = guest.exec(EXEC_TIMEOUT, List.of("/bin/sh", "-c", "kill -9 $(pidof " + program.fileName() + ")"));
        return r.exitCode() == 0 ? "the trainer was killed" : "killing it failed: " + r.stderr().strip();
    }

    /** A mark's buffer: its bytes (read through the gdbstub in the trainer's address space) and the physical page of each page it spans. */
    private static BufferSpec buffer(GdbClient gdb, PhysicalMemory ram, X86Registers at, String name, long va, long length) {
        if (length == 0) {
            return BufferSpec.none(name);
        }
        if (length < 0 || length > MAX_BUFFER) {
            throw new IllegalArgumentException(String.format("the %s buffer at 0x%x claims %d bytes (more than %d): is the mark "
                    + "called as vmsight_mark_*(buf, len)?", name, va, length, MAX_BUFFER));
        }
        byte[] bytes = gdb.readMemory(va, (int) length);
        AddressSpace space = AddressSpace.of(ram, GuestVcpuStates.fromGdb(at));
        long first = va & ~0xFFFL, last = (va + length - 1) & ~0xFFFL;
        long[] pas = new long[(int) ((last - first >>> 12) + 1)];
        for (int i = 0; i < pas.length; i++) {
            pas[i] = space.physical(first + ((long) i << 12)) & ~0xFFFL;
        }
        return new BufferSpec(name, va, (int) length, pas, bytes);
    }

    // ---- the header

    private TraceHeader header(TrainingProgram program, List<String> args, StartCapture c, Map<String, String> context) {
        MachineState state = LockstepSession.load(c.start());
        c.learnedLocations().forEach(state::set);
        TraceHeader.StartState start = new TraceHeader.StartState(state.architectural(), c.tables().gdtBase(),
                c.tables().gdtLimit(), c.tables().idtBase(), c.tables().idtLimit(), c.tables().tssBase(),
                SystemMachine.DEFAULT_PHYSICAL_BITS);
        TraceHeader.Marks marks = new TraceHeader.Marks(symbols.address(program, TrainingSymbols.MAIN),
                symbols.address(program, TrainingSymbols.MARK_IN), symbols.address(program, TrainingSymbols.MARK_OUT), c.start().cr3());
        return new TraceHeader(program.fileName(), args, identity, features, marks, c.input(), c.expectedOutput(), start, context,
                System.currentTimeMillis());
    }

    private TraceHeader.GuestIdentity identify(QemuGuest guest) {
        Path vmlinux = guest.config().kernel().toAbsolutePath().resolveSibling("vmlinux");
        String release = guest.exec(EXEC_TIMEOUT, List.of("/bin/uname", "-r")).stdoutOrThrow("uname -r in the guest").strip();
        long ram = GuestTrainer.ramSize(guest);
        return new TraceHeader.GuestIdentity(KernelIdentity.textSha256(vmlinux), release,
                guest.config().kernel().toAbsolutePath().getParent().getFileName().toString(), guest.config().cpus(), ram);
    }

    // ---- snapshot, fidelity, workload

    private Path saveSnapshot(Path traceFile, TraceHeader header, StartCapture c) {
        Path out = siblingWithExtension(traceFile, ".snapshot");
        Map<String, Long> regs = new HashMap<>(GuestVcpuStates.fromGdb(c.start()).registers());
        regs.put("gdt_base", c.tables().gdtBase());
        regs.put("gdt_limit", (long) c.tables().gdtLimit());
        regs.put("idt_base", c.tables().idtBase());
        regs.put("idt_limit", (long) c.tables().idtLimit());
        regs.put("tr_base", c.tables().tssBase());
        c.learnedLocations().forEach((loc, v) -> regs.put(Loc.name(loc), v));
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("program", header.program());
        meta.put("args", String.join(" ", header.args()));
        meta.put("mark", "START (vmsight_mark_in)");
        meta.put("kernel.textSha256", header.guest().kernelTextSha256());
        meta.put("kernel.release", header.guest().kernelRelease());
        meta.put("trace", traceFile.getFileName().toString());
        header.context().forEach((k, v) -> meta.put("context." + k, v));
        SnapshotWriter.write(out, meta, new VcpuState("gdbstub + HMP at START", regs), c.ram());
        return out;
    }

    private String findDivergence(TrainingProgram program, List<String> argv, Variation variation, ReplayStage.Outcome outcome,
                                  byte[] expected) {
        String mismatch = outcome.reachedEnd()
                ? "replayed output (" + outcome.output().length + " bytes) differs from the guest's (" + expected.length + " bytes)"
                : "the replay did not reach END";
        if (!options.lockstepOnReject()) {
            return mismatch + "; no lockstep run (disabled)";
        }
        say("%s: fidelity failed (%s); finding the first divergence by lockstep", program.fileName(), mismatch);
        // the first divergence lies before the replay's END: no need to step further (≈500 steps/s)
        long steps = outcome.reachedEnd() ? outcome.instructions() + 1 : options.maxInstructions();
        trainerRuns.merge(program.fileName(), 1, Integer::sum);
        LockstepResult r = Lockstep.run(guest, lab, program, argv, variation.shellCommand(argv), steps, null, false);
        return mismatch + "; " + r.summary() + (r.divergences().isEmpty() ? "" : "\n" + r.divergences().get(0));
    }

    /** Brings the number of extra sleepers to {@code n}: kills the previous ones, starts new ones. */
    /**
     * Sets the guest's workload to {@code v}'s (extra sleepers, PID floor) unless it already runs it:
     * callers that choose a run's inputs from the guest's processes set it first, and {@link #trace}
     * then leaves it as it is.
     */
    public void prepareWorkload(Variation v) {
        setWorkload(v);
    }

    /** The file in the guest listing the PIDs of the extra sleepers of the current workload, one per line. */
    public static String extraSleepersFile() { return EXTRA_SLEEPERS_FILE; }

    private void setWorkload(Variation v) {
        String script = v.workloadScript(EXTRA_SLEEPERS_FILE);
        // the script is the workload: a dimension added to Variation cannot be forgotten here
        if (script.equals(currentWorkload.workloadScript(EXTRA_SLEEPERS_FILE))) {
            return;
        }
        currentWorkload = v;
        guest.exec(EXEC_TIMEOUT, List.of("/bin/sh", "-c", script))
                .stdoutOrThrow("setting the guest's workload to " + v.extraSleepers() + " extra sleepers"
                        + (v.pidFloor() > 0 ? " from PID " + v.pidFloor() : ""));
    }

    /**
     * Sets the dentry cache's state of {@code v} again before a retried run: the failed attempt's
     * trainer cached every name it looked up (the sleepers and the PID floor stay: a run's inputs
     * may name a sleeper).
     */
    private void restoreDentryCache(Variation v) {
        String script = v.dentryCacheScript(EXTRA_SLEEPERS_FILE);
        if (script.isEmpty()) return;
        guest.exec(EXEC_TIMEOUT, List.of("/bin/sh", "-c", script + "true"))
                .stdoutOrThrow("setting the guest's dentry cache again for a retried run");
    }

    private void say(String format, Object... args) {
        if (log != null) {
            log.println(String.format(format, args));
        }
    }

    static Path siblingWithExtension(Path file, String extension) {
        String name = file.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return file.resolveSibling((dot > 0 ? name.substring(0, dot) : name) + extension);
    }

    private static void createParent(Path file) {
        try {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the directory of " + file + ": " + e.getMessage(), e);
        }
    }

    private static void move(Path from, Path to) {
        try {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot rename the rejected trace " + from + " to " + to + ": " + e.getMessage(), e);
        }
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException ignored) {
            // a partial trace left behind is rejected by readers as incomplete
        }
    }
}
