package dev.vmsight.cli;

import dev.vmsight.merger.Symbols;
import dev.vmsight.tracer.trace.InstructionEvent;
import dev.vmsight.tracer.trace.TraceEvent;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The kernel functions a trace enters, with how often and from which function (the one that ran just
 * before: its caller, or the function a tail jump or a return left): what shows
 * whether a trained path reaches an allocator no call summary covers (its caller names the path:
 * a slab refill under a summarised allocation, a page fault's handler, or the trained code itself).
 */
final class FunctionEntries {
    private final Map<String, Map<String, Integer>> callersByFunction = new TreeMap<>();

    /** Counts the entries of {@code events}: an instruction at a function's first byte, reached from another function. */
    static FunctionEntries of(Iterator<TraceEvent> events, Symbols symbols) {
        FunctionEntries f = new FunctionEntries();
        String previous = null;
        while (events.hasNext()) {
            if (!(events.next() instanceof InstructionEvent e)) continue;
            if (e.cpl() == 3) {
                previous = "(user mode)";
                continue;
            }
            Map.Entry<Long, String> fn = symbols.function(e.rip());
            String name = fn == null ? "(no symbol)" : fn.getValue();
            if (fn != null && fn.getKey() == e.rip() && !name.equals(previous)) {
                f.callersByFunction.computeIfAbsent(name, k -> new TreeMap<>()).merge(previous == null ? "(trace start)" : previous, 1, Integer::sum);
            }
            previous = name;
        }
        return f;
    }

    /** One line per function: entries, name, and its callers with their counts. */
    String text() {
        StringBuilder b = new StringBuilder();
        callersByFunction.forEach((name, callers) -> {
            int n = callers.values().stream().mapToInt(Integer::intValue).sum();
            b.append(String.format(Locale.ROOT, "%8d  %s  (from %s)%n", n, name,
                    callers.entrySet().stream().map(c -> c.getKey() + " " + c.getValue()).reduce((x, y) -> x + ", " + y).orElse("")));
        });
        return b.toString();
    }

    Map<String, Map<String, Integer>> callers() {
        return callersByFunction;
    }
}
