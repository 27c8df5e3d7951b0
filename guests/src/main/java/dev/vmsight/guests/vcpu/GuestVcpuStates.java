package dev.vmsight.guests.vcpu;

import dev.vmsight.guests.QemuGuest;
import dev.vmsight.guests.gdb.GdbClient;
import dev.vmsight.guests.gdb.X86Registers;
import dev.vmsight.vmi.vcpu.VcpuState;
import dev.vmsight.vmi.vcpu.VcpuStates;
import java.util.HashMap;
import java.util.Map;

/**
 * {@link VcpuState} from a live lab guest. The gdbstub gives GPRs, rip, rflags, selectors, the FS,
 * GS and kernel GS bases, CR0-4, EFER (and cr8, mxcsr) but not GDTR, IDTR or TR; HMP
 * {@code info registers} gives those but not the kernel GS base. {@link #capture} takes both, with
 * the guest stopped (by the gdbstub) so they describe the same moment.
 */
public final class GuestVcpuStates {
    private GuestVcpuStates() {
    }

    /** The registers of a gdbstub {@code g} reply, under {@link VcpuState}'s names. */
    public static VcpuState fromGdb(X86Registers r) {
        Map<String, Long> m = new HashMap<>();
        long[] gprs = {r.rax(), r.rbx(), r.rcx(), r.rdx(), r.rsi(), r.rdi(), r.rbp(), r.rsp(),
            r.r8(), r.r9(), r.r10(), r.r11(), r.r12(), r.r13(), r.r14(), r.r15()};
        for (int i = 0; i < 16; i++) m.put(VcpuState.NAMES.get(i), gprs[i]);
        m.put("rip", r.rip());
        m.put("rflags", Integer.toUnsignedLong(r.eflags()));
        m.put("cs", (long) r.cs() & 0xffff);
        m.put("ss", (long) r.ss() & 0xffff);
        m.put("ds", (long) r.ds() & 0xffff);
        m.put("es", (long) r.es() & 0xffff);
        m.put("fs", (long) r.fs() & 0xffff);
        m.put("gs", (long) r.gs() & 0xffff);
        m.put("fs_base", r.fsBase());
        m.put("gs_base", r.gsBase());
        m.put("kernel_gs_base", r.kernelGsBase());
        m.put("cr0", r.cr0());
        m.put("cr2", r.cr2());
        m.put("cr3", r.cr3());
        m.put("cr4", r.cr4());
        m.put("cr8", r.cr8());
        m.put("efer", r.efer());
        m.put("mxcsr", Integer.toUnsignedLong(r.mxcsr()));
        return new VcpuState("gdbstub", m);
    }

    /**
     * The full state of the stopped vCPU: the gdbstub's registers, completed by HMP's GDTR, IDTR
     * and TR (the gdbstub's values win where both give one). The caller has the guest stopped,
     * e.g. at a breakpoint; with one vCPU, HMP shows the CPU the gdbstub shows.
     */
    public static VcpuState capture(GdbClient gdb, QemuGuest guest) {
        VcpuState fromGdb = fromGdb(gdb.readRegisters());
        String text = guest.hmp("info registers");
        VcpuState fromHmp = VcpuStates.fromHmp(VcpuStates.hmpCpuBlocks(text).get(0), "HMP info registers of " + guest.runDir());
        if (fromHmp.rip() != fromGdb.rip() || fromHmp.cr3() != fromGdb.cr3()) {
            throw new IllegalStateException("gdbstub and HMP disagree (rip 0x" + Long.toHexString(fromGdb.rip()) + " vs 0x"
                    + Long.toHexString(fromHmp.rip()) + ", cr3 0x" + Long.toHexString(fromGdb.cr3()) + " vs 0x"
                    + Long.toHexString(fromHmp.cr3()) + "): is the guest running, or is HMP showing another vCPU?");
        }
        return fromGdb.withMissingFrom(fromHmp);
    }
}
