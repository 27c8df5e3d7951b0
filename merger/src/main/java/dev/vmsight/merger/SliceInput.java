package dev.vmsight.merger;

/**
 * What the merger needs from a slice: which µops of each site are kept, and which one-successor
 * control sites the guard policy guards. The slicer's result is adapted to this; {@link #unsliced()}
 * keeps everything (a whole-trace program: the baseline that every sliced program must agree with).
 */
public interface SliceInput {
    /** The guard policy's name, lower case (strict, relaxed, virtuoso; "unsliced" for {@link #unsliced()}). */
    String policy();

    /** Whether µop {@code index} of the instruction (address, bytes) is in the slice. */
    boolean kept(long address, byte[] bytes, int index);

    /** Whether a control site seen with one successor is guarded (else it is followed silently). */
    boolean guarded(long address);

    /**
     * The program's role for the control site at {@code address} when the slice decided it (SKIP
     * with its target, or RETURN), else null: the merger derives BRANCH, GUARD or FOLLOW itself.
     */
    default Decided decided(long address) { return null; }

    /** Structured calls the program keeps a frame for (none: every return is computed). */
    default java.util.Map<Long, MergedProgram.CallFrame> frames() { return java.util.Map.of(); }

    /** Calls the program does not enter, by call address (none: every call is entered). */
    default java.util.Map<Long, MergedProgram.CallSummary> summaries() { return java.util.Map.of(); }

    /**
     * Loads the program replays instead of making (allocation metadata; see the slicer's
     * ReplayedLoad): per instruction address, the µop index and the value (none: every load reads memory).
     */
    default java.util.Map<Long, MergedProgram.EnvValue> replayedLoads() { return java.util.Map.of(); }

    /** A role the slice decided: SKIP to {@code target}, or RETURN (target unused). */
    record Decided(MergedProgram.ControlRole role, long target) { }

    /** The slicer's result. */
    static SliceInput of(dev.vmsight.slicer.SliceResult slice) {
        String policy = slice.policy().name().toLowerCase(java.util.Locale.ROOT);
        return new SliceInput() {
            @Override public String policy() { return policy; }
            @Override public boolean kept(long address, byte[] bytes, int index) { return slice.kept(address, bytes, index); }
            @Override public boolean guarded(long address) { return slice.guarded(address); }
            @Override public Decided decided(long address) {
                var c = slice.controlSites().get(address);
                if (c == null) {
                    return null;
                }
                return switch (c.role()) {
                    case SKIP -> new Decided(MergedProgram.ControlRole.SKIP, c.skipTarget());
                    case RETURN -> new Decided(MergedProgram.ControlRole.RETURN, 0);
                    case BRANCH, GUARD, FOLLOWED -> null;
                };
            }
            @Override public java.util.Map<Long, MergedProgram.CallSummary> summaries() {
                java.util.Map<Long, MergedProgram.CallSummary> m = new java.util.HashMap<>();
                slice.summaries().forEach((a, c) -> m.put(a, new MergedProgram.CallSummary(c.callAddress(), c.returnAddress(),
                        MergedProgram.SummaryKind.valueOf(c.kind().name()),
                        c.kind() == dev.vmsight.slicer.Slicer.SummaryKind.ALLOCATE ? c.zeroed() : c.returned(),
                        c.image().stream().map(v -> new MergedProgram.InitialValue(v.offset(), v.size(), v.value(), v.relative()))
                                .toList())));
                return m;
            }
            @Override public java.util.Map<Long, MergedProgram.EnvValue> replayedLoads() {
                java.util.Map<Long, MergedProgram.EnvValue> m = new java.util.HashMap<>();
                slice.replayedLoads().forEach((a, r) -> m.put(a, new MergedProgram.EnvValue(a, r.uop(), new long[] {r.value()})));
                return m;
            }
            @Override public java.util.Map<Long, MergedProgram.CallFrame> frames() {
                java.util.Map<Long, MergedProgram.CallFrame> m = new java.util.HashMap<>();
                slice.frames().forEach((a, f) -> m.put(a, new MergedProgram.CallFrame(f.callAddress(), f.returnAddress(),
                        f.restoredLocs())));
                return m;
            }
        };
    }

    /** Every µop kept, every one-successor control site guarded. */
    static SliceInput unsliced() {
        return new SliceInput() {
            @Override public String policy() { return "unsliced"; }
            @Override public boolean kept(long address, byte[] bytes, int index) { return true; }
            @Override public boolean guarded(long address) { return true; }
        };
    }
}
