package dev.vmsight.tracer.trace.file;

import dev.vmsight.tracer.trace.InstructionEvent;
import dev.vmsight.tracer.trace.SyntheticTrace;
import dev.vmsight.tracer.trace.TraceEvent;
import dev.vmsight.tracer.trace.TraceReader;
import dev.vmsight.tracer.trace.TraceSink;
import dev.vmsight.tracer.trace.TranslationEvent;
import dev.vmsight.tracer.trace.DeliveryEvent;
import dev.vmsight.tracer.trace.EnvInputEvent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;

/**
 * Measures (prints, never asserts) write, forward and backward read throughput of the trace file
 * on a synthetic trace of about 250k instructions / 1.9M µop executions, the size of a pslist
 * trace. Run from the repo root after {@code mvn -pl tracer -am test-compile}:
 * <pre>java -cp tracer/target/test-classes:tracer/target/classes:ir/target/classes \
 *     dev.vmsight.tracer.trace.file.TraceFileThroughput [instructions] [level] [chunkKiB] [random|repetitive]</pre>
 * ("random": every value drawn anew, the worst case; "repetitive": values repeat per site, closer
 * to a real trace). "write" is the caller's wall time to the end of finish(), compression included;
 * "in write()" is the part spent inside write() calls, i.e. what a replay would feel if it were
 * slower than the compressor thread (which runs alongside).
 */
public final class TraceFileThroughput {
    private TraceFileThroughput() { }

    public static void main(String[] args) throws Exception {
        int instructions = args.length > 0 ? Integer.parseInt(args[0]) : 250_000;
        int level = args.length > 1 ? Integer.parseInt(args[1]) : TraceFileFormat.DEFAULT_LEVEL;
        int chunk = (args.length > 2 ? Integer.parseInt(args[2]) : Frames.CHUNK_TARGET >> 10) << 10;
        // 25k distinct instructions' events, replayed with renumbered steps: memory stays small.
        int block = Math.min(instructions, 25_000);
        boolean repetitive = args.length > 3 && args[3].equals("repetitive");
        List<TraceEvent> events = new SyntheticTrace(1, block, repetitive).events;
        Path f = Files.createTempFile("vmsight-throughput", ".trace");
        try {
            for (int round = 1; round <= 3; round++) {
                long t0 = System.nanoTime();
                long inWrite = 0;
                long n = 0;
                long uops = 0;
                try (TraceSink sink = TraceFileFormat.create(f, SyntheticTrace.header("throughput"), level, chunk)) {
                    for (long base = 0; base < instructions; base += block) {
                        for (TraceEvent e : events) {
                            TraceEvent moved = renumber(e, base);
                            if (moved instanceof InstructionEvent i) {
                                uops += i.uops().size();
                            }
                            long w = System.nanoTime();
                            sink.write(moved);
                            inWrite += System.nanoTime() - w;
                            n++;
                        }
                    }
                    sink.finish(new SyntheticTrace(1, 1).summary);
                }
                double write = (System.nanoTime() - t0) / 1e9;
                long size = Files.size(f);
                double fwd;
                double back;
                long seen = 0;
                long seenUops = 0;
                try (TraceReader r = TraceFileFormat.open(f)) {
                    long t1 = System.nanoTime();
                    for (Iterator<TraceEvent> it = r.forward(); it.hasNext(); ) {
                        if (it.next() instanceof InstructionEvent i) {
                            seenUops += i.uops().size();
                        }
                        seen++;
                    }
                    fwd = (System.nanoTime() - t1) / 1e9;
                    long t2 = System.nanoTime();
                    for (Iterator<TraceEvent> it = r.backward(); it.hasNext(); ) {
                        if (it.next() instanceof InstructionEvent i) {
                            seenUops -= i.uops().size();
                        }
                        seen--;
                    }
                    back = (System.nanoTime() - t2) / 1e9;
                }
                if (seen != 0 || seenUops != 0) {
                    throw new IllegalStateException("forward and backward passes saw different events");
                }
                System.out.printf("round %d: %s values, %d events (%d instructions, %d µops), level %d, %d KiB chunks, "
                                + "file %.1f MiB = %.1f bytes/instruction%n", round, repetitive ? "repetitive" : "random",
                        n, instructions, uops, level, chunk >> 10, size / 1048576.0, (double) size / instructions);
                System.out.printf("  write    %.2f s  %.2f M events/s  %.2f M µops/s  (in write(): %.2f s)%n", write,
                        n / write / 1e6, uops / write / 1e6, inWrite / 1e9);
                System.out.printf("  forward  %.2f s  %.2f M events/s  %.2f M µops/s%n", fwd, n / fwd / 1e6,
                        uops / fwd / 1e6);
                System.out.printf("  backward %.2f s  %.2f M events/s  %.2f M µops/s%n", back, n / back / 1e6,
                        uops / back / 1e6);
            }
        } finally {
            Files.deleteIfExists(f);
        }
    }

    private static TraceEvent renumber(TraceEvent e, long base) {
        if (base == 0) {
            return e;
        }
        if (e instanceof InstructionEvent i) {
            return new InstructionEvent(i.step() + base, i.rip(), i.cpl(), i.bytes(), i.uops());
        }
        if (e instanceof TranslationEvent t) {
            return new TranslationEvent(t.step() + base, t.id(), t.cr3(), t.pageBase(), t.pageSize(), t.frame(),
                    t.pteAddresses(), t.pteValues());
        }
        if (e instanceof DeliveryEvent d) {
            return new DeliveryEvent(d.step() + base, d.vector(), d.errorCode(), d.returnRip(), d.handler(), d.cause(),
                    d.accesses(), d.readLocs(), d.writtenLocs(), d.writtenValues());
        }
        EnvInputEvent v = (EnvInputEvent) e;
        return new EnvInputEvent(v.step() + base, v.kind(), v.args(), v.values(), v.source());
    }
}
