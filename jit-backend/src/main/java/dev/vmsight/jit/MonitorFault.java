package dev.vmsight.jit;

import dev.vmsight.ir.interp.CpuFault;
import dev.vmsight.ir.uop.Site;
import dev.vmsight.ir.uop.UopSemantics;
import dev.vmsight.vmi.GuestMemoryException;
import dev.vmsight.vmi.phys.PhysicalMemoryException;

/**
 * An instruction of a compiled monitor failed: a guest memory read that could not be served (the
 * cause is the memory source's structured exception), a #DE, a fault µop, a delegated µop the
 * context cannot execute, a frame stack deeper than its limit, a return to an address outside
 * the program or an exhausted allocation arena. Carries the instruction's site.
 */
public final class MonitorFault extends RuntimeException {
    /** What kind of failure. */
    public enum Kind {
        MEMORY, CPU_FAULT, DIVIDE_ERROR, UNSUPPORTED,
        /** a structured call would open more than {@link JitProgram#MAX_FRAME_DEPTH} frames */
        FRAME_DEPTH,
        /** a return continued at an address that is no instruction of the program */
        OFF_PROGRAM,
        /** ALLOCATE call summaries used every slot of the arena */
        ARENA,
        OTHER
    }

    private final transient Site site;
    private final Kind kind;

    MonitorFault(Site site, RuntimeException cause) {
        super(kindOf(cause).name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ')
                + (site == null ? " outside any instruction" : " at 0x" + Long.toHexString(site.address()))
                + ": " + cause.getMessage(), cause, false, false);
        this.site = site;
        this.kind = kindOf(cause);
    }

    /** A failure of the run itself (not of a µop) at {@code site}: frame depth, an off-program return. */
    MonitorFault(Site site, Kind kind, String message) {
        super(kind.name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ') + " at 0x" + Long.toHexString(site.address())
                + ": " + message, null, false, false);
        this.site = site;
        this.kind = kind;
    }

    private static Kind kindOf(RuntimeException e) {
        if (e instanceof UopSemantics.DivideError) {
            return Kind.DIVIDE_ERROR;
        }
        if (e instanceof CpuFault) {
            return Kind.CPU_FAULT;
        }
        if (e instanceof GuestMemoryException || e instanceof PhysicalMemoryException) {
            return Kind.MEMORY;
        }
        if (e instanceof IllegalStateException || e instanceof UnsupportedOperationException) {
            return Kind.UNSUPPORTED;
        }
        return Kind.OTHER;
    }

    /** The instruction's site; null only for a failure outside the generated instructions (a bug). */
    public Site site() { return site; }

    public Kind kind() { return kind; }
}
