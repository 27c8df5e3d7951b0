package dev.vmsight.ir.sys;

/**
 * The guest CPU features that change how bytes decode. Without BMI1 / LZCNT (ABM), F3 0F BC and
 * F3 0F BD are BSF / BSR with an ignored prefix, as on QEMU's qemu64 model; Linux emits tzcnt for
 * __ffs knowing this. A trace records them so its instructions lift again the same way.
 */
public record CpuFeatures(boolean bmi1, boolean lzcnt) {
    /** A modern CPU: both present. */
    public static final CpuFeatures ALL = new CpuFeatures(true, true);
}
