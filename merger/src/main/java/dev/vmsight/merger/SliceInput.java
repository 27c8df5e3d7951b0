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

    /** The slicer's result. */
    static SliceInput of(dev.vmsight.slicer.SliceResult slice) {
        String policy = slice.policy().name().toLowerCase(java.util.Locale.ROOT);
        return new SliceInput() {
            @Override public String policy() { return policy; }
            @Override public boolean kept(long address, byte[] bytes, int index) { return slice.kept(address, bytes, index); }
            @Override public boolean guarded(long address) { return slice.guarded(address); }
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
