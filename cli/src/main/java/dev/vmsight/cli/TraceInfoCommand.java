package dev.vmsight.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vmsight.merger.Symbols;
import dev.vmsight.tracer.trace.TraceFiles;
import dev.vmsight.tracer.trace.TraceHeader;
import dev.vmsight.tracer.trace.TraceReader;
import dev.vmsight.tracer.trace.TraceSummary;
import dev.vmsight.tracer.trace.file.TraceCounts;
import dev.vmsight.tracer.trace.file.TraceFileFormat;
import dev.vmsight.tracer.trace.file.TraceFileLayout;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code vmsight trace-info FILE}: what a trace is of (program, kernel, marks, buffers, context)
 * and the summary's counts. {@code --verify} reads every event and checks the counts (exit 1 on a
 * mismatch); a damaged file is a one-line error with its byte offset.
 */
@Command(name = "trace-info", mixinStandardHelpOptions = true,
        description = "Describe a trace file: program, kernel, marks, buffers, context, counts, fidelity.")
final class TraceInfoCommand implements Callable<Integer> {
    /** Jackson (already used for QMP/QGA) renders the maps, lists, strings and numbers. */
    private static final ObjectMapper JSON = new ObjectMapper();

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "FILE", description = "a trace file written by 'vmsight trace'")
    Path file;

    @Option(names = "--json", description = "print one JSON object instead of text")
    boolean json;

    @Option(names = "--verify", description = "read every event and check the summary's counts against them")
    boolean verify;

    @Option(names = "--calls", description = "also list the kernel functions the trace enters, with their callers (names from --symbols)")
    boolean calls;

    @Option(names = "--symbols", paramLabel = "FILE",
            description = "System.map or /proc/kallsyms text for --calls (default: the guest's kallsyms saved beside the training corpus)")
    Path symbols;

    @Override
    public Integer call() {
        TraceFileLayout layout = TraceFileFormat.layout(file);
        TraceHeader h;
        TraceSummary s;
        TraceCounts counted = null;
        FunctionEntries entries = null;
        try (TraceReader r = TraceFiles.open(file)) {
            h = r.header();
            s = r.summary();
            if (verify) {
                counted = TraceCounts.of(r.forward());
            }
            if (calls) {
                entries = FunctionEntries.of(r.forward(), kernelSymbols(h));
            }
        }
        List<String> differences = counted == null ? List.of() : counted.differences(s);
        PrintWriter out = spec.commandLine().getOut();
        out.print(json ? json(layout, h, s, counted, differences, entries) : text(layout, h, s, counted, differences));
        if (!json && entries != null) {
            out.println("calls (entries, kernel function, callers):");
            out.print(entries.text());
        }
        out.flush();
        return differences.isEmpty() ? 0 : 1;
    }

    private String text(TraceFileLayout layout, TraceHeader h, TraceSummary s, TraceCounts counted,
                        List<String> differences) {
        StringBuilder b = new StringBuilder();
        line(b, "trace", file + String.format(Locale.ROOT, " (format v%d, %s, %d chunks, %.1f bytes/instruction)",
                layout.version(), bytes(layout.fileSize()), layout.chunks().size(),
                s.instructions() == 0 ? 0.0 : (double) layout.fileSize() / s.instructions()));
        line(b, "program", h.program() + (h.args().isEmpty() ? "" : " " + String.join(" ", h.args())));
        if (h.guest() != null) {
            TraceHeader.GuestIdentity g = h.guest();
            line(b, "kernel", prefix(g.kernelTextSha256()) + " (" + g.kernelRelease() + ", " + g.kernelPackage() + "), "
                    + g.vcpus() + " vCPU, " + bytes(g.memoryBytes()));
        }
        if (h.features() != null) {
            line(b, "cpu", "bmi1 " + yes(h.features().bmi1()) + ", lzcnt " + yes(h.features().lzcnt()));
        }
        if (h.marks() != null) {
            TraceHeader.Marks m = h.marks();
            line(b, "marks", "main " + hex(m.main()) + ", START " + hex(m.markIn()) + ", END " + hex(m.markOut())
                    + ", cr3 " + hex(m.cr3()));
        }
        line(b, "input", buffer(h.input()));
        line(b, "expected", buffer(h.expectedOutput()));
        line(b, "context", new TreeMap<>(h.context()).toString());
        line(b, "created", Instant.ofEpochMilli(h.createdEpochMillis()).toString());
        line(b, "instructions", String.format(Locale.ROOT, "%,d (kernel %,d, user %,d)", s.instructions(),
                s.kernelInstructions(), s.userInstructions()));
        line(b, "µops", String.format(Locale.ROOT, "%,d", s.uops()));
        line(b, "sites", String.format(Locale.ROOT, "%,d distinct (rip, bytes, µop index)", s.distinctSites()));
        line(b, "deliveries", String.format(Locale.ROOT, "%,d", s.deliveries()));
        line(b, "translations", String.format(Locale.ROOT, "%,d", s.translations()));
        line(b, "env inputs", String.format(Locale.ROOT, "%,d", s.envInputs()));
        line(b, "reached END", yes(s.reachedEnd()));
        line(b, "fidelity", s.fidelity() ? "yes (the replayed output equals the guest's)"
                : "NO (the replayed output differs from the guest's)");
        line(b, "replay", String.format(Locale.ROOT, "%.2f s", s.replaySeconds()));
        if (counted != null) {
            line(b, "verify", differences.isEmpty()
                    ? String.format(Locale.ROOT, "%,d events read; every count equals the summary's", counted.events())
                    : "MISMATCH: " + String.join("; ", differences));
        }
        return b.toString();
    }

    private static void line(StringBuilder b, String key, String value) {
        b.append(String.format(Locale.ROOT, "%-13s %s%n", key, value));
    }

    private static String buffer(TraceHeader.BufferSpec spec) {
        if (spec == null) {
            return "none";
        }
        List<String> pages = new ArrayList<>();
        for (long p : spec.pagePhysicalAddresses()) {
            pages.add(hex(p));
        }
        return spec.name() + ": " + spec.length() + " bytes at " + hex(spec.va())
                + (pages.isEmpty() ? "" : " (physical pages " + String.join(", ", pages) + ")");
    }

    private Symbols kernelSymbols(TraceHeader h) {
        return Labs.kernelSymbols(symbols, h.guest() == null ? null : h.guest().kernelTextSha256()).orElseThrow(() ->
                new IllegalArgumentException("--calls needs the guest's kernel symbols: no kallsyms saved beside the training corpus "
                        + "of this trace's kernel; give --symbols FILE"));
    }

    private String json(TraceFileLayout layout, TraceHeader h, TraceSummary s, TraceCounts counted,
                        List<String> differences, FunctionEntries entries) {
        Map<String, Object> o = new java.util.LinkedHashMap<>();
        o.put("file", file.toString());
        o.put("formatVersion", layout.version());
        o.put("fileBytes", layout.fileSize());
        o.put("chunks", layout.chunks().size());
        o.put("program", h.program());
        o.put("args", h.args());
        if (h.guest() != null) {
            Map<String, Object> g = new java.util.LinkedHashMap<>();
            g.put("kernelTextSha256", h.guest().kernelTextSha256());
            g.put("kernelRelease", h.guest().kernelRelease());
            g.put("kernelPackage", h.guest().kernelPackage());
            g.put("vcpus", h.guest().vcpus());
            g.put("memoryBytes", h.guest().memoryBytes());
            o.put("guest", g);
        }
        if (h.features() != null) {
            Map<String, Object> f = new java.util.LinkedHashMap<>();
            f.put("bmi1", h.features().bmi1());
            f.put("lzcnt", h.features().lzcnt());
            o.put("features", f);
        }
        if (h.marks() != null) {
            Map<String, Object> m = new java.util.LinkedHashMap<>();
            m.put("main", hex(h.marks().main()));
            m.put("markIn", hex(h.marks().markIn()));
            m.put("markOut", hex(h.marks().markOut()));
            m.put("cr3", hex(h.marks().cr3()));
            o.put("marks", m);
        }
        o.put("input", jsonBuffer(h.input()));
        o.put("expectedOutput", jsonBuffer(h.expectedOutput()));
        o.put("context", new TreeMap<>(h.context()));
        o.put("createdEpochMillis", h.createdEpochMillis());
        o.put("instructions", s.instructions());
        o.put("uops", s.uops());
        o.put("kernelInstructions", s.kernelInstructions());
        o.put("userInstructions", s.userInstructions());
        o.put("distinctSites", s.distinctSites());
        o.put("deliveries", s.deliveries());
        o.put("translations", s.translations());
        o.put("envInputs", s.envInputs());
        o.put("reachedEnd", s.reachedEnd());
        o.put("fidelity", s.fidelity());
        o.put("replaySeconds", s.replaySeconds());
        if (counted != null) {
            Map<String, Object> v = new java.util.LinkedHashMap<>();
            v.put("events", counted.events());
            v.put("ok", differences.isEmpty());
            v.put("mismatches", differences);
            o.put("verify", v);
        }
        if (entries != null) {
            o.put("calls", entries.callers());
        }
        try {
            return JSON.writeValueAsString(o) + System.lineSeparator();
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("trace-info: cannot render JSON: " + e.getMessage(), e);
        }
    }

    private static Object jsonBuffer(TraceHeader.BufferSpec spec) {
        if (spec == null) {
            return null;
        }
        Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("name", spec.name());
        m.put("va", hex(spec.va()));
        m.put("length", spec.length());
        List<String> pages = new ArrayList<>();
        for (long p : spec.pagePhysicalAddresses()) {
            pages.add(hex(p));
        }
        m.put("pagePhysicalAddresses", pages);
        return m;
    }

    private static String prefix(String sha) {
        return sha == null ? "unknown" : sha.substring(0, Math.min(12, sha.length()));
    }

    private static String yes(boolean b) {
        return b ? "yes" : "no";
    }

    private static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }

    private static String bytes(long n) {
        if (n < 1024) {
            return n + " B";
        }
        if (n < 1 << 20) {
            return String.format(Locale.ROOT, "%.1f KiB", n / 1024.0);
        }
        return String.format(Locale.ROOT, "%.1f MiB", n / 1048576.0);
    }
}
