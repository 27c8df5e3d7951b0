package dev.vmsight.tracer.trace.file;

import dev.vmsight.tracer.trace.DeliveryEvent;
import dev.vmsight.tracer.trace.EnvInputEvent;
import dev.vmsight.tracer.trace.InstructionEvent;
import dev.vmsight.tracer.trace.TraceEvent;
import dev.vmsight.tracer.trace.TraceSummary;
import dev.vmsight.tracer.trace.TranslationEvent;
import dev.vmsight.tracer.trace.UopExecution;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * The counts a {@link TraceSummary} states, computed from the events themselves (what
 * {@code trace-info --verify} compares). Kernel instructions are those at CPL 0, user ones the
 * rest; a distinct site is a distinct (rip, instruction bytes, µop index) of an executed µop, so
 * an instruction whose fetch faulted (no bytes, no µops) adds none.
 */
public record TraceCounts(long events, long instructions, long uops, long kernelInstructions, long userInstructions,
                          long distinctSites, long deliveries, long translations, long envInputs) {

    /** A site, with the instruction's (at most 15) bytes packed into two longs. */
    private record Site(long rip, long low, long high, int length, int index) { }

    /** Reads {@code events} to the end. */
    public static TraceCounts of(Iterator<TraceEvent> events) {
        long n = 0;
        long instructions = 0;
        long uops = 0;
        long kernel = 0;
        long deliveries = 0;
        long translations = 0;
        long env = 0;
        Set<Site> sites = new HashSet<>();
        while (events.hasNext()) {
            TraceEvent e = events.next();
            n++;
            if (e instanceof InstructionEvent i) {
                instructions++;
                kernel += i.kernel() ? 1 : 0;
                uops += i.uops().size();
                byte[] b = i.bytes();
                if (b != null) {
                    long low = 0;
                    long high = 0;
                    for (int k = 0; k < b.length; k++) {
                        if (k < 8) {
                            low |= (b[k] & 0xFFL) << (8 * k);
                        } else {
                            high |= (b[k] & 0xFFL) << (8 * (k - 8));
                        }
                    }
                    for (UopExecution u : i.uops()) {
                        sites.add(new Site(i.rip(), low, high, b.length, u.index()));
                    }
                }
            } else if (e instanceof DeliveryEvent) {
                deliveries++;
            } else if (e instanceof TranslationEvent) {
                translations++;
            } else if (e instanceof EnvInputEvent) {
                env++;
            }
        }
        return new TraceCounts(n, instructions, uops, kernel, instructions - kernel, sites.size(), deliveries,
                translations, env);
    }

    /** Each count that differs from {@code summary}'s, as "name: summary S, events E"; empty if all agree. */
    public List<String> differences(TraceSummary summary) {
        List<String> d = new ArrayList<>();
        compare(d, "instructions", summary.instructions(), instructions);
        compare(d, "µops", summary.uops(), uops);
        compare(d, "kernel instructions", summary.kernelInstructions(), kernelInstructions);
        compare(d, "user instructions", summary.userInstructions(), userInstructions);
        compare(d, "distinct sites", summary.distinctSites(), distinctSites);
        compare(d, "deliveries", summary.deliveries(), deliveries);
        compare(d, "translations", summary.translations(), translations);
        compare(d, "environment inputs", summary.envInputs(), envInputs);
        return d;
    }

    private static void compare(List<String> d, String name, long stated, long counted) {
        if (stated != counted) {
            d.add(name + ": summary " + stated + ", events " + counted);
        }
    }
}
