package dev.vmsight.guests.vcpu;

import dev.vmsight.guests.QemuGuest;
import dev.vmsight.guests.gdb.GdbClient;
import dev.vmsight.guests.gdb.X86Registers;
import dev.vmsight.vmi.vcpu.VcpuState;
import dev.vmsight.vmi.vcpu.VcpuStates;
import java.util.HashMap;
import java.util.List;
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
     * e.g. at a breakpoint. With several vCPUs, HMP {@code info registers -a} shows them all and the
     * block with the gdbstub's rip, rsp and cr3 is the same vCPU.
     */
    public static VcpuState capture(GdbClient gdb, QemuGuest guest) {
        VcpuState fromGdb = fromGdb(gdb.readRegisters());
        String text = guest.hmp("info registers -a");
        List<String> blocks = VcpuStates.hmpCpuBlocks(text);
        for (int i = 0; i < blocks.size(); i++) {
            VcpuState fromHmp = VcpuStates.fromHmp(blocks.get(i), "HMP info registers of " + guest.runDir() + " vCPU " + i);
            if (fromHmp.rip() == fromGdb.rip() && fromHmp.rsp() == fromGdb.rsp() && fromHmp.cr3() == fromGdb.cr3()) {
                return fromGdb.withMissingFrom(fromHmp);
            }
        }
        throw new IllegalStateException("no vCPU in HMP info registers has the gdbstub's rip 0x" + Long.toHexString(fromGdb.rip())
                + ", rsp 0x" + Long.toHexString(fromGdb.rsp()) + ", cr3 0x" + Long.toHexString(fromGdb.cr3())
                + " (" + blocks.size() + " vCPUs): is the guest running?");
    }
}
