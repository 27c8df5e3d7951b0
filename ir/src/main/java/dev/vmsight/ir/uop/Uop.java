package dev.vmsight.ir.uop;

import dev.vmsight.ir.decode.Register;

import java.util.Arrays;

/**
 * One µop: a row of the {@link UopKind} table applied to locations. {@code out} and {@code in}
 * hold {@link Loc} indices, {@code imm} the immediates, in the table's counts.
 *
 * @param kind    what it does
 * @param size    operand width in bytes for width-aware kinds (1, 2, 4, 8), else 8
 * @param segment for memory µops the segment of the original operand ({@code null} = flat / DS);
 *                the address input already includes an FS/GS base
 * @param out     output locations (its defs)
 * @param in      input locations (its uses)
 * @param imm     immediates
 */
public record Uop(UopKind kind, int size, Register segment, int[] out, int[] in, long[] imm) {

    public Uop {
        if (out.length != kind.outputs() || in.length != kind.inputs() || imm.length != kind.immediates()) {
            throw new IllegalArgumentException(kind + " takes " + kind.outputs() + " outputs, " + kind.inputs()
                    + " inputs, " + kind.immediates() + " immediates; got " + out.length + ", " + in.length + ", " + imm.length);
        }
        if (size != 1 && size != 2 && size != 4 && size != 8) {
            throw new IllegalArgumentException(kind + ": bad size " + size);
        }
    }

    /** The locations this µop writes (memory and opaque effects are in its kind's flags). */
    public int[] defs() { return out.clone(); }

    /** The locations this µop reads. */
    public int[] uses() { return in.clone(); }

    /** All-ones mask of {@link #size()} bytes. */
    public long mask() { return size == 8 ? -1L : (1L << (size * 8)) - 1; }

    @Override
    public String toString() {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < out.length; i++) {
            s.append(i == 0 ? "" : ", ").append(Loc.name(out[i]));
        }
        if (out.length > 0) {
            s.append(" = ");
        }
        s.append(kind.name().toLowerCase(java.util.Locale.ROOT));
        if (size != 8) {
            s.append('.').append(size * 8);
        }
        if (segment != null) {
            s.append(' ').append(segment.asm()).append(':');
        }
        String sep = " ";
        for (int i : in) {
            s.append(sep).append(Loc.name(i));
            sep = ", ";
        }
        for (long v : imm) {
            s.append(sep).append("0x").append(Long.toHexString(v));
            sep = ", ";
        }
        return s.toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Uop u && u.kind == kind && u.size == size && u.segment == segment
                && Arrays.equals(u.out, out) && Arrays.equals(u.in, in) && Arrays.equals(u.imm, imm);
    }

    @Override
    public int hashCode() {
        return ((kind.hashCode() * 31 + size) * 31 + Arrays.hashCode(out)) * 31 + Arrays.hashCode(in) * 7 + Arrays.hashCode(imm);
    }
}
