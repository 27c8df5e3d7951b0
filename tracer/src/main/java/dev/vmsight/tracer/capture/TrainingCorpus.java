package dev.vmsight.tracer.capture;

import dev.vmsight.guests.LabLayout;
import dev.vmsight.guests.QemuGuest;
import dev.vmsight.guests.TrainingProgram;
import dev.vmsight.tracer.lockstep.Lockstep;
import dev.vmsight.tracer.trace.TraceFiles;
import dev.vmsight.tracer.trace.TraceReader;
import dev.vmsight.vmi.snapshot.Snapshot;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Traces (and START snapshots) of the training programs that later stages' tests share, under
 * {@code .lab/corpus/<first 12 hex digits of the kernel's .text SHA-256>/<program>/run-<i>.{trace,snapshot}}.
 * {@link #ensure} returns at once when the files exist, open as the current formats and are of
 * the pinned kernel with fidelity; otherwise it boots a lab guest and traces the missing runs
 * (run i with {@link Variation#cycle(int) variation i} and, for a program that takes an input,
 * {@link TrainingInputs#args input i}), {@link #RUNS_PER_BOOT} runs per boot. A
 * boot's first run (0, 4, ...) is the trainer's first run since its guest booted (see
 * {@link #COLD_BOOTS}); later runs find what earlier ones left in the kernel's caches. A run traced
 * again alone (damaged) is its boot's first. A file lock in the program's directory keeps two
 * JVMs from producing the same runs at once.
 */
public final class TrainingCorpus {
    /** Attempts per run when a trace is rejected (fidelity) before giving up. */
    private static final int ATTEMPTS = 2;
    /** The guest's text symbols, saved at the first boot of a corpus production (no KASLR: one file fits every run). */
    static final String KALLSYMS = "kallsyms";
    private static final java.time.Duration SYMBOLS_TIMEOUT = java.time.Duration.ofSeconds(60);
    /**
     * Runs traced on one boot: runs 0-3 on a first guest, 4-7 on a second, and so on. Held-out
     * runs of a reliability measurement (crossval: train on runs below N, test on N and up) then
     * come from another boot than training's, where slab addresses, and with them the order of
     * hash chains, differ, as they do on any live guest.
     */
    public static final int RUNS_PER_BOOT = 4;
    /**
     * Boots tried for a boot's first run (0, 4, ...) before a run that is not the trainer's first
     * since boot is kept. That run is defined as the first after boot (for pslist: the listing
     * that creates the /proc dentries), so a retry on the same guest, which finds them cached, is
     * traced again on a new boot; after this many boots the last one is kept (its header says so).
     */
    private static final int COLD_BOOTS = 3;

    private TrainingCorpus() { }

    /** One run of the corpus: its trace and its START snapshot. */
    public record Entry(Path trace, Path snapshot) { }

    /**
     * The directory of {@code program}'s runs for the pinned kernel: {@code <sha12>} on the default
     * CPU model, {@code <sha12>-<model>} on another (the kernel patches its code by CPU feature at
     * boot, so each model's traces are of other code), and {@code -kaslr} after it for KASLR boots.
     */
    public static Path directory(LabLayout lab, TrainingProgram program) {
        Path vmlinux = lab.kernelDir(lab.pinnedKernel()).resolve("vmlinux");
        String kernel = KernelIdentity.textSha256(vmlinux).substring(0, 12);
        String model = lab.cpuModel().equals(dev.vmsight.guests.GuestConfig.DEFAULT_CPU_MODEL) ? "" : "-" + lab.cpuModel();
        return lab.root().resolve(".lab/corpus").resolve(kernel + model + (lab.kaslr() ? "-kaslr" : "")).resolve(program.fileName());
    }

    /** Runs 0..runs-1 of {@code program}, traced now (booting a guest) only if missing, damaged or of another format. */
    public static List<Entry> ensure(LabLayout lab, TrainingProgram program, int runs) {
        return ensure(lab, program, runs, line -> { });
    }

    /** As above; {@code progress} hears one line per boot and per run traced. */
    public static List<Entry> ensure(LabLayout lab, TrainingProgram program, int runs, java.util.function.Consumer<String> progress) {
        if (runs < 1) {
            throw new IllegalArgumentException("runs must be at least 1, not " + runs);
        }
        Path dir = directory(lab, program);
        String kernelSha = dir.getParent().getFileName().toString().substring(0, 12);   // <sha12>[-<cpu model>]
        List<Entry> entries = new ArrayList<>();
        for (int i = 0; i < runs; i++) {
            entries.add(new Entry(dir.resolve("run-" + i + ".trace"), dir.resolve("run-" + i + ".snapshot")));
        }
        Path kallsyms = dir.resolveSibling(KALLSYMS);
        if (missing(entries, kernelSha).isEmpty() && Files.isRegularFile(kallsyms)) {
            return entries;
        }
        try {
            Files.createDirectories(dir);
            try (FileChannel lockFile = FileChannel.open(dir.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                 FileLock lock = lockFile.lock()) {
                List<Integer> todo = missing(entries, kernelSha);   // another JVM may have made them meanwhile
                if (lab.kaslr()) {
                    todo = wholeBoots(todo, runs);
                }
                if (!todo.isEmpty() || !Files.isRegularFile(kallsyms)) {
                    produce(lab, program, entries, todo, progress);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot lock or write the training corpus " + dir + ": " + e.getMessage(), e);
        }
        List<Integer> still = missing(entries, kernelSha);
        if (!still.isEmpty()) {
            throw new IllegalStateException("training corpus " + dir + ": runs " + still + " are still not usable after tracing them");
        }
        return entries;
    }

    /** The guest's kernel text symbols saved beside the corpus of the kernel whose .text hash is {@code kernelTextSha256}. */
    public static Path kernelSymbolsFile(LabLayout lab, String kernelTextSha256) {
        return lab.root().resolve(".lab/corpus").resolve(kernelTextSha256.substring(0, Math.min(12, kernelTextSha256.length())))
                .resolve(KALLSYMS);
    }

    private static void produce(LabLayout lab, TrainingProgram program, List<Entry> entries, List<Integer> todo,
                                java.util.function.Consumer<String> progress) {
        Path symbols = entries.get(0).trace().getParent().resolveSibling(KALLSYMS);
        if (todo.isEmpty()) {
            try (QemuGuest guest = Lockstep.bootGuest(lab, "corpus")) {
                saveSymbols(guest, symbols);    // booted only for the symbols (a corpus traced before they were saved)
            }
            return;
        }
        java.util.TreeMap<Integer, List<Integer>> byBoot = new java.util.TreeMap<>();
        for (int i : todo) {
            byBoot.computeIfAbsent(i / RUNS_PER_BOOT, b -> new ArrayList<>()).add(i);
        }
        boolean symbolsSaved = false;
        for (var bootGroup : byBoot.entrySet()) {
            List<Integer> left = new ArrayList<>(bootGroup.getValue());
            int dentryHash = Variation.dentryHashEntries(bootGroup.getKey());
            for (int boot = 1; !left.isEmpty(); boot++) {
                progress.accept("booting a guest for runs " + left + (dentryHash == 0 ? "" : " (dhash_entries=" + dentryHash + ")"));
                try (QemuGuest guest = Lockstep.bootGuest(lab, "corpus", dentryHash)) {
                    if (!symbolsSaved) {
                        saveSymbols(guest, symbols);
                        symbolsSaved = true;
                    }
                    Tracer tracer = new Tracer(guest, lab, TraceOptions.DEFAULTS.withSaveSnapshot(true).withLockstepOnReject(false), null);
                    while (!left.isEmpty()) {
                        int i = left.get(0);
                        tracer.prepareWorkload(Variation.cycle(i));   // inputs are chosen among the run's processes
                        List<String> args = TrainingInputs.args(program, i, guest);
                        TracedRun r = traceRun(tracer, program, args, entries.get(i), i);
                        progress.accept(String.format(java.util.Locale.ROOT, "run %d%s: %,d instructions, %.1f s (%s extra sleepers%s)",
                                i, args.isEmpty() ? "" : " " + String.join(" ", args), r.summary().instructions(), r.totalSeconds(),
                                r.context().get("variation.extraSleepers"), "0".equals(r.context().get(Variation.PID_FLOOR_KEY)) ? ""
                                        : " from PID " + r.context().get(Variation.PID_FLOOR_KEY)));
                        if (i % RUNS_PER_BOOT == 0 && !firstRunSinceBoot(r) && boot < COLD_BOOTS) {
                            deleteQuietly(r.trace());
                            deleteQuietly(r.snapshot());
                            break;      // a boot's first run must find the guest as boot left it: again on a new boot
                        }
                        move(r, entries.get(i));
                        left.remove(0);
                    }
                    tracer.resetWorkload();
                }
            }
        }
    }

    /** Run {@code i} into a temporary trace, with {@link #ATTEMPTS} tries at fidelity. */
    private static TracedRun traceRun(Tracer tracer, TrainingProgram program, List<String> args, Entry e, int i) {
        Path tmp = e.trace().resolveSibling("new-run-" + i + ".trace");
        TracedRun r = null;
        for (int attempt = 0; attempt < ATTEMPTS && (r == null || !r.fidelity()); attempt++) {
            r = tracer.trace(program, args, Variation.cycle(i), i, tmp);
        }
        if (!r.fidelity()) {
            throw new IllegalStateException("training corpus: " + program.fileName() + " run " + i + " was rejected "
                    + ATTEMPTS + " times (fidelity): " + r.divergence());
        }
        return r;
    }

    /** Whether the traced run was the trainer's first run on its guest since boot (no retry ran it before). */
    static boolean firstRunSinceBoot(TracedRun r) {
        return "0".equals(r.context().get(Tracer.EARLIER_RUNS));
    }

    private static void saveSymbols(QemuGuest guest, Path file) {
        try {
            KernelSymbols.saveTextSymbols(guest, SYMBOLS_TIMEOUT, file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot save the guest's kernel symbols to " + file + ": " + e.getMessage(), e);
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            if (p != null) {
                Files.deleteIfExists(p);
            }
        } catch (IOException ignored) {
            // a leftover temporary file is overwritten by the next attempt
        }
    }

    private static void move(TracedRun r, Entry e) {
        try {
            Files.move(r.snapshot(), e.snapshot(), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            Files.move(r.trace(), e.trace(), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException ex) {
            throw new UncheckedIOException("cannot move a new trace into the training corpus: " + ex.getMessage(), ex);
        }
    }

    /**
     * {@code todo} grown to whole boots ({@link #RUNS_PER_BOOT} runs each, up to {@code runs}): on
     * KASLR guests every boot has its own kernel layout, and the runs a program is merged from must
     * share one, so a boot's runs are traced again together.
     */
    static List<Integer> wholeBoots(List<Integer> todo, int runs) {
        java.util.TreeSet<Integer> all = new java.util.TreeSet<>();
        for (int i : todo) {
            int first = i / RUNS_PER_BOOT * RUNS_PER_BOOT;
            for (int j = first; j < Math.min(first + RUNS_PER_BOOT, runs); j++) {
                all.add(j);
            }
        }
        return List.copyOf(all);
    }

    /** Indices of runs whose files are absent, unreadable, of another format or kernel, or without fidelity. */
    private static List<Integer> missing(List<Entry> entries, String kernelSha) {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < entries.size(); i++) {
            if (!usable(entries.get(i), kernelSha)) {
                out.add(i);
            }
        }
        return out;
    }

    /** Whether the trace was made with the training binary the lab has now (a rebuilt trainer has other user code and data). */
    private static boolean trainerUnchanged(dev.vmsight.tracer.trace.TraceHeader header, Path programDir) {
        String recorded = header.context().get(Tracer.TRAINER_SHA256);
        Path binary = programDir.getParent().getParent().getParent().resolve("training/bin").resolve(programDir.getFileName());
        return recorded != null && Files.isRegularFile(binary) && recorded.equals(Tracer.sha256(binary));
    }

    private static boolean usable(Entry e, String kernelSha) {
        if (!Files.isRegularFile(e.trace()) || !Files.isRegularFile(e.snapshot())) {
            return false;
        }
        try (TraceReader r = TraceFiles.open(e.trace()); Snapshot s = Snapshot.open(e.snapshot())) {
            return r.header().guest().kernelTextSha256().startsWith(kernelSha) && r.summary().fidelity()
                    && r.summary().reachedEnd() && s.storedPages() > 0
                    // traced before the allocators' symbols were recorded (kvmalloc_node; 6.10 on: __kvmalloc_node_noprof)
                    && (r.header().context().containsKey(KernelSymbols.KEY + "kvmalloc_node")
                        || r.header().context().containsKey(KernelSymbols.KEY + "__kvmalloc_node_noprof"))
                    && trainerUnchanged(r.header(), e.trace().getParent())
                    && r.header().context().containsKey(Tracer.EARLIER_RUNS)     // traced before earlier runs were counted
                    && String.valueOf(Variation.CYCLE_VERSION).equals(r.header().context().get(Variation.CYCLE_VERSION_KEY));

        } catch (RuntimeException damagedOrOld) {
            return false;   // wrong version, truncated, corrupt: traced again
        }
    }
}
