package dev.vmsight.ir.sys;

import dev.vmsight.ir.interp.CpuFault;

/** #PF error-code bits (SDM vol. 3 §4.7) and the fault built from them. */
final class PageFault {
    static final int P = 1, W = 1 << 1, U = 1 << 2, RSVD = 1 << 3, ID = 1 << 4;

    private PageFault() { }

    static CpuFault of(long va, int errorCode, int level, String why) {
        return new CpuFault(CpuFault.PF, errorCode, va, "#PF at 0x" + Long.toHexString(va) + " (error 0x"
                + Integer.toHexString(errorCode) + ", level " + level + ": " + why + ")");
    }
}
