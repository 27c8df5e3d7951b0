package dev.vmsight.slicer;

import dev.vmsight.ir.uop.Loc;
import dev.vmsight.ir.uop.Uop;
import dev.vmsight.tracer.trace.UopExecution;

import java.util.Arrays;

/**
 * What the OPAQUE / SYSTEM µops read beyond their operands (their extra writes are recorded in
 * {@link UopExecution#sideLocs()}; their memory reads in its accesses), after the SDM:
 * <ul>
 *   <li>SYSCALL: RFLAGS (saved to R11, masked by SFMASK), LSTAR (new RIP), STAR (CS/SS), SFMASK, EFER.
 *       RCX gets the return address, a constant of the site.</li>
 *   <li>SYSRET: RCX (new RIP), R11 (new RFLAGS), STAR (CS/SS), EFER.</li>
 *   <li>IRET: RSP (where the frame is; the frame itself is its memory reads).</li>
 *   <li>SYSTEM_OP (fxsave, xsave, lgdt...): its operand and memory reads, and for the saving ones
 *       (those that write memory) every XMM half and MXCSR.</li>
 *   <li>SYSREG_WRITE of CR0/CR3/CR4: the other paging controls (the write's effect depends on them).</li>
 * </ul>
 */
final class OpaqueUses {
    private static final int[] NONE = {};
    private static final int[] SYSCALL = with(Loc.FLAG_LOCS, Loc.LSTAR, Loc.STAR, Loc.SFMASK, Loc.EFER, Loc.IOPL);
    private static final int[] SYSRET = {Loc.GPR0 + 1, Loc.GPR0 + 11, Loc.STAR, Loc.EFER};
    private static final int[] IRET = {Loc.GPR0 + 4};
    private static final int[] SAVE_STATE;
    private static final int[] PAGING = {Loc.CR0, Loc.CR3, Loc.CR4, Loc.EFER};

    static {
        int[] xmm = new int[33];
        for (int i = 0; i < 32; i++) {
            xmm[i] = Loc.XMM0 + i;
        }
        xmm[32] = Loc.MXCSR;
        SAVE_STATE = xmm;
    }

    private OpaqueUses() { }

    static int[] extra(Uop u, UopExecution x) {
        return switch (u.kind()) {
            case SYSCALL -> SYSCALL;
            case SYSRET -> SYSRET;
            case IRET -> IRET;
            case SYSTEM_OP -> writes(x) ? SAVE_STATE : NONE;
            case SYSREG_WRITE -> u.out()[0] == Loc.CR0 || u.out()[0] == Loc.CR3 || u.out()[0] == Loc.CR4 ? PAGING : NONE;
            default -> NONE;
        };
    }

    private static boolean writes(UopExecution x) {
        for (var a : x.accesses()) {
            if (a.write()) {
                return true;
            }
        }
        return false;
    }

    private static int[] with(int[] base, int... more) {
        int[] out = Arrays.copyOf(base, base.length + more.length);
        System.arraycopy(more, 0, out, base.length, more.length);
        return out;
    }
}
