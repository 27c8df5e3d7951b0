package dev.vmsight.ir.uop;

import java.util.Arrays;
import java.util.HexFormat;

/**
 * Where a µop comes from: the instruction's address, its bytes and the µop's index in the
 * instruction's lifting. Stable across traces (the lifter is deterministic).
 */
public record Site(long address, byte[] bytes, int index) {
    public Site {
        bytes = bytes.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Site s && s.address == address && s.index == index && Arrays.equals(s.bytes, bytes);
    }

    @Override
    public int hashCode() { return (Long.hashCode(address) * 31 + Arrays.hashCode(bytes)) * 31 + index; }

    @Override
    public String toString() {
        return "0x" + Long.toHexString(address) + "[" + HexFormat.of().formatHex(bytes) + "]#" + index;
    }
}
