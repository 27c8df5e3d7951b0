package dev.vmsight.tracer.trace;

/**
 * A page walk: translation {@code id} (numbered from 0 in trace order) maps the linear page at
 * {@code pageBase} of {@code pageSize} bytes (4 KiB, 2 MiB, 1 GiB) under {@code cr3} to the frame
 * at {@code frame}. {@code pteAddresses[k]}/{@code pteValues[k]} are the entries read, from the
 * top level down to the leaf (values as read, before the walk set A/D bits). Accesses refer to it
 * by id until the TLB entry is dropped and a new walk makes a new translation.
 */
public record TranslationEvent(long step, int id, long cr3, long pageBase, long pageSize, long frame,
                               long[] pteAddresses, long[] pteValues) implements TraceEvent {
    public TranslationEvent {
        if (pteAddresses.length != pteValues.length) {
            throw new IllegalArgumentException("translation " + id + ": " + pteAddresses.length + " entry addresses but "
                    + pteValues.length + " values");
        }
    }
}
