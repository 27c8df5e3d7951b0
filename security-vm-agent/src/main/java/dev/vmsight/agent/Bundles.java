package dev.vmsight.agent;

import dev.vmsight.jit.CompiledMonitor;
import dev.vmsight.jit.run.HookedDispatch;
import dev.vmsight.jit.run.ProgramRuns;
import dev.vmsight.merger.KernelLayout;
import dev.vmsight.merger.MergedProgram;
import dev.vmsight.merger.ProgramRelocation;
import dev.vmsight.merger.ProgramFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The monitor bundles of a directory ({@code vmsight train} writes {@code PROGRAM-POLICY-RUNS.vmprog}),
 * by program: several kernels' bundles can sit side by side, and a guest uses the first whose
 * trained kernel code matches its own. A bundle is read, compiled and analysed once, on first use.
 */
final class Bundles {
    private static final Pattern NAME = Pattern.compile("([a-z]+)-([a-z]+)-(\\d+)(?:\\.[0-9][A-Za-z0-9.+~_-]*)?\\.vmprog");

    /** One bundle file, loaded lazily. */
    static final class Bundle {
        /** Layouts kept compiled per bundle: a guest that reboots (new KASLR slide) adds one each time. */
        private static final int MAX_PLACEMENTS = 8;
        final Path file;
        /** The file's modification time and size when this bundle was made: a retrained file differs. */
        final long stamp;
        private volatile MergedProgram program;
        private final Map<KernelLayout, Placement> placements = new java.util.LinkedHashMap<>();

        Bundle(Path file) {
            this.file = file;
            this.stamp = stamp(file);
        }

        synchronized MergedProgram program() {
            if (program == null) program = ProgramFiles.read(file);
            return program;
        }

        /**
         * This bundle in a boot whose kernel is at {@code layout}, with code {@code code}: the
         * program moved there (ProgramRelocation), compiled and analysed once per layout.
         *
         * @throws IllegalArgumentException when an instruction of the program cannot be relocated
         */
        synchronized Placement at(KernelLayout layout, dev.vmsight.vmi.paging.LinearMemory code) {
            Placement p = placements.get(layout);
            if (p == null) {
                if (placements.size() >= MAX_PLACEMENTS) placements.clear();
                p = new Placement(ProgramRelocation.relocate(program(), layout, code));
                placements.put(layout, p);
            }
            return p;
        }

        /** The bundle where it was trained. */
        Placement trained() { return at(program().runContext().layout(), null); }

        CompiledMonitor monitor() { return trained().monitor(); }

        HookedDispatch hooks() { return trained().hooks(); }

        Map<Long, byte[]> code() { return trained().code(); }

        @Override
        public String toString() { return file.getFileName().toString(); }
    }

    /** A bundle's program at one kernel layout, with what is derived from it once. */
    static final class Placement {
        final MergedProgram program;
        private CompiledMonitor monitor;
        private HookedDispatch hooks;
        private Map<Long, byte[]> code;

        Placement(MergedProgram program) {
            this.program = program;
        }

        synchronized CompiledMonitor monitor() {
            if (monitor == null) monitor = ProgramRuns.compile(program);
            return monitor;
        }

        synchronized HookedDispatch hooks() {
            if (hooks == null) hooks = new HookedDispatch(program);
            return hooks;
        }

        /** The kernel code in address order, sorted once (the code check walks it every cycle). */
        synchronized Map<Long, byte[]> code() {
            if (code == null) {
                java.util.SortedMap<Long, byte[]> sorted = new java.util.TreeMap<>(Long::compareUnsigned);
                sorted.putAll(ProgramRuns.kernelCode(program));
                code = java.util.Collections.unmodifiableSortedMap(sorted);
            }
            return code;
        }
    }

    private final Path dir;
    private final Map<Path, Bundle> loaded = new ConcurrentHashMap<>();

    Bundles(Path dir) {
        this.dir = dir;
    }

    Path dir() { return dir; }

    /**
     * The bundles of {@code program} now in the directory, best first: the DATA policy before the
     * others, then more training runs. A file that appeared since the last call is picked up; one
     * that changed is read again (a retrained bundle).
     */
    List<Bundle> candidates(String program) {
        List<Path> files = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            s.filter(p -> {
                Matcher m = NAME.matcher(p.getFileName().toString());
                return m.matches() && m.group(1).equals(program);
            }).forEach(files::add);
        } catch (IOException e) {
            throw new dev.vmsight.guests.GuestException("cannot list the bundle directory " + dir + ": " + e.getMessage(), e);
        }
        files.sort(Comparator.comparing((Path p) -> !group(p, 2).equals("data"))
                .thenComparing(p -> -Integer.parseInt(group(p, 3)))
                .thenComparing(Path::toString));
        List<Bundle> out = new ArrayList<>();
        for (Path f : files) {
            out.add(loaded.compute(f, (k, old) -> old != null && old.stamp == stamp(f) ? old : new Bundle(f)));
        }
        return out;
    }

    private static long stamp(Path file) {
        try {
            return Files.getLastModifiedTime(file).toMillis() * 31 + Files.size(file);
        } catch (IOException e) {
            return -1;   // gone or unreadable: read again (and fail with the file named) on use
        }
    }

    private static String group(Path p, int g) {
        Matcher m = NAME.matcher(p.getFileName().toString());
        if (!m.matches()) throw new IllegalStateException(p.toString());
        return m.group(g);
    }
}
