package dev.vmsight.ir.interp;

import dev.vmsight.ir.uop.Loc;

/** The model-specific registers the machine state holds as locations; others come from the Environment. */
final class Msrs {
    private Msrs() { }

    static int location(long msr) {
        return switch ((int) msr) {
            case 0xC0000080 -> Loc.EFER;
            case 0xC0000081 -> Loc.STAR;
            case 0xC0000082 -> Loc.LSTAR;
            case 0xC0000083 -> Loc.CSTAR;
            case 0xC0000084 -> Loc.SFMASK;
            case 0xC0000100 -> Loc.FS_BASE;
            case 0xC0000101 -> Loc.GS_BASE;
            case 0xC0000102 -> Loc.KERNEL_GS_BASE;
            case 0xC0000103 -> Loc.TSC_AUX;
            default -> -1;
        };
    }
}
