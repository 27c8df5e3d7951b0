package dev.vmsight.tracer.trace;

import java.util.List;

/**
 * One executed instruction: step number, address, the CPL it ran at, its bytes (the reader lifts
 * them again with the trace's {@code CpuFeatures}: lifting is deterministic, so µop index i here is
 * site (rip, bytes, i)) and the µops that ran, in order (a taken EXIT_IF ends the list early; a
 * faulting µop ends it with {@code faulted}). {@code bytes} is null when the fetch itself faulted.
 */
public record InstructionEvent(long step, long rip, int cpl, byte[] bytes, List<UopExecution> uops)
        implements TraceEvent {
    public InstructionEvent {
        uops = List.copyOf(uops);
    }

    public boolean kernel() { return cpl == 0; }

    public boolean faulted() { return bytes == null || !uops.isEmpty() && uops.get(uops.size() - 1).faulted(); }
}
