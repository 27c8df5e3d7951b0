package dev.vmsight.tracer.trace;

import dev.vmsight.ir.sys.CpuFeatures;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * A seeded, trace-shaped event stream for format tests and throughput measurements: a few
 * thousand distinct instructions (kernel and user) executed over and over, about eight µops each
 * with a mix of small values, kernel and user pointers and random 64-bit values, a memory access
 * every few µops, translations, deliveries and environment inputs now and then. Not a real
 * trace: with {@code repetitive} false every value is drawn anew (the worst case for size and
 * compression speed); with it true the code runs in loops of 40-80 instructions and a site's
 * values mostly repeat or advance by a small stride from the last time it ran, as loop counters
 * and list pointers do in a real trace.
 */
public final class SyntheticTrace {
    public final List<TraceEvent> events = new ArrayList<>();
    public final TraceSummary summary;

    private record Site(long rip, byte[] bytes, int cpl, int uops) { }

    public SyntheticTrace(long seed, int instructions) {
        this(seed, instructions, false);
    }

    public SyntheticTrace(long seed, int instructions, boolean repetitive) {
        Random r = new Random(seed);
        Map<Long, long[]> last = new HashMap<>();
        List<Site> code = new ArrayList<>();
        long rip = 0xffffffff81000000L;
        for (int i = 0; i < 4000; i++) {
            if (i == 2500) {
                rip = 0x401000;
            }
            byte[] b = new byte[1 + r.nextInt(r.nextInt(4) == 0 ? 15 : 6)];
            r.nextBytes(b);
            code.add(new Site(rip, b, i < 2500 ? 0 : 3, 1 + r.nextInt(14)));
            rip += b.length;
        }
        long uops = 0;
        long kernel = 0;
        int translations = 0;
        int deliveries = 0;
        int env = 0;
        Set<String> sites = new HashSet<>();
        int pc = 0;
        int loopStart = 0;
        int loopLength = 60;
        int iterationsLeft = 50;
        for (long step = 1; step <= instructions; step++) {
            Site s = code.get(pc);
            if (step % 211 == 0) {
                events.add(new TranslationEvent(step, translations++, 0x1234000, s.rip() & ~0xFFFL, 4096,
                        0x7654000 + (r.nextInt(1 << 20) << 12L), new long[] {0x1000, 0x2000, 0x3000, 0x4000},
                        new long[] {r.nextLong(), r.nextLong(), 0x8000000000000063L, -1}));
            }
            List<UopExecution> list = new ArrayList<>(s.uops());
            for (int u = 0; u < s.uops(); u++) {
                MemoryAccess[] acc = UopExecution.NO_ACCESSES;
                if (u % 4 == 1) {
                    long va = s.cpl() == 0 ? 0xffff888000000000L + r.nextInt(1 << 24) * 8L : 0x7ffd0000L + r.nextInt(4096);
                    acc = new MemoryAccess[] {new MemoryAccess(va, 0x100000 + (va & 0xFFFFFF), -1, 8, value(r),
                            r.nextBoolean(), translations - 1)};
                }
                long[] v = {value(r), value(r), value(r)};
                if (repetitive) {
                    long[] prev = last.computeIfAbsent(s.rip() * 16 + u, k -> v.clone());
                    for (int k = 0; k < 3; k++) {
                        int dice = r.nextInt(16);
                        v[k] = dice < 9 ? prev[k] : dice < 15 ? prev[k] + 8 * (dice - 8) : v[k];
                        prev[k] = v[k];
                    }
                }
                list.add(new UopExecution(u, new long[] {v[0], v[1]}, new long[] {v[2]}, acc,
                        UopExecution.NO_LOCS, UopExecution.NO_VALUES, false));
                sites.add(s.rip() + ":" + u);
            }
            events.add(new InstructionEvent(step, s.rip(), s.cpl(), s.bytes(), list));
            uops += list.size();
            kernel += s.cpl() == 0 ? 1 : 0;
            if (step % 5003 == 0) {
                deliveries++;
                events.add(new DeliveryEvent(step, 14, 2, s.rip(), 0xffffffff81a00b60L, "page fault",
                        new MemoryAccess[] {new MemoryAccess(0xfffffe0000000000L, 0x5000, -1, 8, r.nextLong(), false, -1)},
                        new int[] {4, 17}, new int[] {4, 16}, new long[] {0xffffc90000123f58L, 0xffffffff81a00b60L}));
            }
            if (step % 10007 == 0) {
                env++;
                events.add(new EnvInputEvent(step, "RDTSC", new long[0], new long[] {r.nextLong()}, "synthetic"));
            }
            if (!repetitive) {
                pc = r.nextInt(8) == 0 ? r.nextInt(code.size()) : (pc + 1) % code.size();
            } else if (++pc == loopStart + loopLength || pc == code.size()) {
                // Loops of 40-80 instructions run 20-100 times, as list walks and copies do.
                if (iterationsLeft-- > 0) {
                    pc = loopStart;
                } else {
                    loopLength = 40 + r.nextInt(41);
                    loopStart = r.nextInt(code.size() - loopLength);
                    iterationsLeft = 20 + r.nextInt(81);
                    pc = loopStart;
                }
            }
        }
        summary = new TraceSummary(instructions, uops, kernel, instructions - kernel, sites.size(), deliveries,
                translations, env, true, new byte[] {1, 2, 3}, true, 1.5);
    }

    private static long value(Random r) {
        return switch (r.nextInt(4)) {
            case 0 -> r.nextInt(256);
            case 1 -> 0xffffffff81000000L + r.nextInt(1 << 24);
            case 2 -> 0xffff888000000000L + (r.nextLong() & 0xFFFFFFFFL);
            default -> r.nextLong();
        };
    }

    public static TraceHeader header(String program) {
        long[] arch = new long[64];
        for (int i = 0; i < arch.length; i++) {
            arch[i] = i * 0x1111111111111111L;
        }
        return new TraceHeader(program, List.of("3", "--all"),
                new TraceHeader.GuestIdentity("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                        "6.1.0-56-amd64", "linux-image-6.1.0-56-amd64", 1, 512L << 20),
                new CpuFeatures(false, false),
                new TraceHeader.Marks(0x401136, 0x401200, 0x401210, 0x3a4c000),
                new TraceHeader.BufferSpec("input", 0x4c6100, 16, new long[] {0x2a4c6000}, new byte[16]),
                new TraceHeader.BufferSpec("output", 0x4c7000, 8192, new long[] {0x2a4c7000, 0x2a001000},
                        new byte[8192]),
                new TraceHeader.StartState(arch, 0xfffffe0000001000L, 127, 0xfffffe0000000000L, 4095,
                        0xfffffe0000003000L, 40),
                Map.of("workload", "3", "cpu", "0", "run", "1"), 1_764_000_000_000L);
    }
}
