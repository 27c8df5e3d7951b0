package dev.vmsight.slicer;

/**
 * Which one-direction control sites (a conditional branch seen going one way only, an indirect
 * jump/call/return seen with one target, a rep loop seen ending one way) become guards. A guard's
 * condition must be computed at run time, so a guarded site is sliced with its dependencies: the
 * policy changes the slice, and the slicer takes it as input. Sites seen with two or more
 * successors are always sliced, whatever the policy.
 */
public enum GuardPolicy {
    /** Every one-direction site is guarded: an unseen path always raises {@code UnseenPath}. */
    STRICT,
    /**
     * Only the one-direction sites some sliced µop is control-dependent on are guarded
     * (post-dominators over the merged dynamic CFG of instructions, the unseen direction leading
     * to its static target when that instruction was seen, else to the exit): a branch that only
     * skips code outside the slice is followed silently.
     */
    RELAXED,
    /** No guards (Virtuoso's behaviour): an unseen path silently follows the trained one. */
    VIRTUOSO,
    /**
     * RELAXED's guards on the guest's data only: a one-direction site whose condition comes from the
     * run's context in every traced instance (the task and CPU the training process ran on, arena
     * addresses of summarised allocations, replayed random and environment values: see
     * {@link ContextTaint}) is followed as trained, because a monitor runs as another task on
     * another CPU state and those conditions differ live without saying anything about the answer.
     * Allocations stay summarised (their range checks decide on an arena address: context).
     */
    DATA;

    /** The policy named {@code name} (strict, relaxed, virtuoso, data; any case). */
    public static GuardPolicy parse(String name) {
        for (GuardPolicy p : values()) {
            if (p.name().equalsIgnoreCase(name.trim())) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown guard policy '" + name + "' (strict, relaxed, virtuoso, data)");
    }
}
