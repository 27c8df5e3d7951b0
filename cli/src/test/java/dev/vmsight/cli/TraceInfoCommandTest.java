package dev.vmsight.cli;

import dev.vmsight.cli.CliRun.Run;
import static dev.vmsight.cli.CliRun.vmsight;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmsight.ir.sys.CpuFeatures;
import dev.vmsight.tracer.trace.DeliveryEvent;
import dev.vmsight.tracer.trace.EnvInputEvent;
import dev.vmsight.tracer.trace.InstructionEvent;
import dev.vmsight.tracer.trace.MemoryAccess;
import dev.vmsight.tracer.trace.TraceFiles;
import dev.vmsight.tracer.trace.TraceHeader;
import dev.vmsight.tracer.trace.TraceSink;
import dev.vmsight.tracer.trace.TraceSummary;
import dev.vmsight.tracer.trace.TranslationEvent;
import dev.vmsight.tracer.trace.UopExecution;
import java.io.IOException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code vmsight trace-info}: the header and summary of a real trace file, --verify, --json, damaged files. */
class TraceInfoCommandTest {
    @TempDir
    Path dir;

    private static UopExecution uop(int index, MemoryAccess... accesses) {
        return new UopExecution(index, new long[] {1, -2}, new long[] {3}, accesses, UopExecution.NO_LOCS,
                UopExecution.NO_VALUES, false);
    }

    /**
     * Three kernel and two user instructions; sites: (0x...1000, 0f 05) ×2 µops once and again,
     * (0x...1002) 1 µop, (0x401000) 3 µops, a faulted fetch (none): 6 distinct sites, 8 µops.
     */
    private Path trace(String name, long statedSites) {
        Path f = dir.resolve(name);
        TraceHeader header = new TraceHeader("pslist", List.of("3"),
                new TraceHeader.GuestIdentity("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                        "6.1.0-56-amd64", "linux-image-6.1.0-56-amd64", 2, 512L << 20),
                new CpuFeatures(false, false), new TraceHeader.Marks(0x401136, 0x401200, 0x401210, 0x3a4c000),
                new TraceHeader.BufferSpec("in", 0x4c6100, 16, new long[] {0x2a4c6000}, new byte[16]),
                new TraceHeader.BufferSpec("out", 0x4c7000, 64, new long[] {0x2a4c7000}, new byte[64]),
                new TraceHeader.StartState(new long[8], 0, 0, 0, 0, 0, 40), Map.of("workload", "3", "cpu", "1"),
                1_764_000_000_000L);
        long k = 0xffffffff81001000L;
        MemoryAccess load = new MemoryAccess(0xffff888000001000L, 0x1000, -1, 8, 42, false, 0);
        try (TraceSink sink = TraceFiles.create(f, header)) {
            sink.write(new TranslationEvent(1, 0, 0x3a4c000, 0xffff888000001000L, 4096, 0x1000, new long[] {1, 2, 3, 4},
                    new long[] {5, 6, 7, 8}));
            sink.write(new InstructionEvent(1, k, 0, new byte[] {0x0f, 0x05}, List.of(uop(0, load), uop(1))));
            sink.write(new InstructionEvent(2, k + 2, 0, new byte[] {(byte) 0x90}, List.of(uop(0))));
            sink.write(new InstructionEvent(3, k, 0, new byte[] {0x0f, 0x05}, List.of(uop(0), uop(1))));
            sink.write(new InstructionEvent(4, 0x401000, 3, new byte[] {0x48, 0x01, (byte) 0xc0},
                    List.of(uop(0), uop(1), uop(2))));
            sink.write(new EnvInputEvent(4, "RDTSC", new long[0], new long[] {123}, "test"));
            sink.write(new InstructionEvent(5, 0x402000, 3, null, List.of()));
            sink.write(new DeliveryEvent(5, 14, 4, 0x402000, 0xffffffff81a00b60L, "page fault", new MemoryAccess[0],
                    new int[0], new int[0], new long[0]));
            sink.finish(new TraceSummary(5, 8, 3, 2, statedSites, 1, 1, 1, true, new byte[64], true, 0.25));
        }
        return f;
    }

    @Test
    void listsTheKernelFunctionsEnteredWithTheirCallers() throws IOException {
        Path f = trace("calls.trace", 6);
        Path syms = dir.resolve("kallsyms");
        Files.writeString(syms, "ffffffff81001000 T entry_SYSCALL_64\nffffffff81001002 t helper\nffffffff81002000 T other\n");
        Run r = vmsight("trace-info", f.toString(), "--calls", "--symbols", syms.toString());
        assertEquals(0, r.exit(), r.out() + r.err());
        assertTrue(r.out().contains("       2  entry_SYSCALL_64  (from (trace start) 1, helper 1)"), r.out());
        assertTrue(r.out().contains("       1  helper  (from entry_SYSCALL_64 1)"), r.out());
        assertTrue(!r.out().contains("other"), r.out());
    }

    @Test
    void printsHeaderAndSummaryAndVerifiesTheCounts() {
        Path f = trace("ok.trace", 6);
        Run r = vmsight("trace-info", f.toString(), "--verify");
        assertEquals(0, r.exit(), r.out() + r.err());
        String out = r.out();
        for (String expected : List.of("program       pslist 3", "kernel        0123456789ab (6.1.0-56-amd64",
                "marks         main 0x401136, START 0x401200, END 0x401210, cr3 0x3a4c000",
                "input         in: 16 bytes at 0x4c6100 (physical pages 0x2a4c6000)", "context       {cpu=1, workload=3}",
                "instructions  5 (kernel 3, user 2)", "µops          8", "sites         6 distinct",
                "deliveries    1", "translations  1", "env inputs    1", "reached END   yes", "fidelity      yes",
                "replay        0.25 s", "verify        8 events read; every count equals the summary's")) {
            assertTrue(out.contains(expected), "missing '" + expected + "' in:\n" + out);
        }
    }

    @Test
    void verifyReportsASummaryThatDisagreesWithTheEvents() {
        Path f = trace("wrong.trace", 7);
        Run plain = vmsight("trace-info", f.toString());
        assertEquals(0, plain.exit(), "without --verify the summary is printed as stated");
        Run r = vmsight("trace-info", f.toString(), "--verify");
        assertEquals(1, r.exit(), r.out());
        assertTrue(r.out().contains("MISMATCH: distinct sites: summary 7, events 6"), r.out());
    }

    @Test
    void jsonHasTheSameFacts() {
        Path f = trace("json.trace", 6);
        Run r = vmsight("trace-info", f.toString(), "--json", "--verify");
        assertEquals(0, r.exit(), r.err());
        String j = r.out().strip();
        assertTrue(j.startsWith("{\"file\":") && j.endsWith("}"), j);
        for (String expected : List.of("\"program\":\"pslist\"", "\"args\":[\"3\"]", "\"instructions\":5",
                "\"uops\":8", "\"kernelInstructions\":3", "\"userInstructions\":2", "\"distinctSites\":6",
                "\"kernelRelease\":\"6.1.0-56-amd64\"", "\"markIn\":\"0x401200\"", "\"reachedEnd\":true",
                "\"fidelity\":true", "\"features\":{\"bmi1\":false,\"lzcnt\":false}", "\"replaySeconds\":0.25",
                "\"verify\":{\"events\":8,\"ok\":true,\"mismatches\":[]}",
                "\"context\":{\"cpu\":\"1\",\"workload\":\"3\"}")) {
            assertTrue(j.contains(expected), "missing " + expected + " in " + j);
        }
    }

    @Test
    void aDamagedFileIsOneLineWithItsOffset() throws IOException {
        Path f = trace("bad.trace", 6);
        byte[] b = Files.readAllBytes(f);
        b[12] ^= 0x40; // inside the header frame, which starts at byte 10
        Files.write(f, b);
        Run r = vmsight("trace-info", f.toString());
        assertEquals(2, r.exit());
        String err = r.err().strip();
        assertEquals(1, err.lines().count(), err);
        assertTrue(err.startsWith("vmsight: " + f + ": ") && err.endsWith("at byte offset 10"), err);

        Files.write(f, java.util.Arrays.copyOf(Files.readAllBytes(dir.resolve("bad.trace")), 40));
        Run cut = vmsight("trace-info", f.toString());
        assertEquals(2, cut.exit());
        assertTrue(cut.err().contains("truncated or incomplete"), cut.err());

        Run missing = vmsight("trace-info", dir.resolve("none.trace").toString());
        assertEquals(2, missing.exit());
        assertTrue(missing.err().strip().equals("vmsight: trace file " + dir.resolve("none.trace") + " does not exist"),
                missing.err());
    }
}
