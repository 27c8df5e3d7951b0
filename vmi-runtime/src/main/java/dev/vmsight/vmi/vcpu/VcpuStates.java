package dev.vmsight.vmi.vcpu;

import dev.vmsight.vmi.phys.CoreCpuState;
import java.util.HashMap;
import java.util.Map;

/**
 * {@link VcpuState} providers that need no live connection: an ELF core's CPU notes and the text
 * of QEMU's HMP {@code info registers} (what libvirt's qemuMonitorCommand with --hmp, or QMP's
 * human-monitor-command, returns). The gdbstub provider lives in the guests module.
 */
public final class VcpuStates {
    private VcpuStates() {
    }

    /**
     * From an ELF core's notes. QEMU's own note has GPRs, rip, rflags, selectors and bases
     * (including GDT, IDT, TR), CR0/2/3/4 and the kernel GS base; it has no EFER, so a monitor that
     * needs EFER cannot run from a memory-only dump alone ({@link VcpuState#missing()} says so).
     */
    public static VcpuState fromCore(CoreCpuState cpu, String coreDescription) {
        Map<String, Long> regs = new HashMap<>();
        cpu.registers().forEach((name, value) -> {
            if (!name.equals("orig_rax")) regs.put(name, value); // a ptrace artefact, not a register
        });
        return new VcpuState(coreDescription + " vCPU " + cpu.index(), regs);
    }

    /**
     * Parses one CPU's block of HMP {@code info registers} (QEMU 7.2, x86-64): GPRs, RIP, RFL,
     * the segment lines (selector and base), LDT/TR, GDT/IDT (base, limit), CR0/2/3/4, EFER,
     * MXCSR. {@code GS} is the GS base in effect (the per-CPU base inside the kernel); HMP does
     * not print the swapped kernel GS base, so {@code kernel_gs_base} is missing. For
     * {@code info registers -a} pass the text of one {@code CPU#n} block, see {@link #hmpCpuBlocks}.
     *
     * @throws IllegalArgumentException naming the first missing or malformed register
     */
    public static VcpuState fromHmp(String text, String source) {
        return HmpRegisters.parse(text, source);
    }

    /**
     * vCPU {@code cpu} of a libvirt domain, from HMP {@code info registers -a} through
     * qemuMonitorCommand (libvirt's QEMU driver only). Lacks {@code kernel_gs_base} like all HMP text.
     */
    public static VcpuState fromLibvirt(org.libvirt.Domain domain, int cpu) {
        String name;
        String text;
        try {
            name = domain.getName();
            text = domain.qemuMonitorCommand("info registers -a", QEMU_MONITOR_COMMAND_HMP);
        } catch (org.libvirt.LibvirtException e) {
            throw new IllegalStateException("libvirt refused HMP 'info registers -a': " + e.getMessage()
                    + " (qemuMonitorCommand needs the QEMU driver and a running domain)", e);
        }
        java.util.List<String> blocks = hmpCpuBlocks(text);
        if (cpu < 0 || cpu >= blocks.size()) {
            throw new IllegalArgumentException("libvirt domain " + name + " has " + blocks.size() + " vCPUs, no vCPU " + cpu);
        }
        return fromHmp(blocks.get(cpu), "HMP info registers of libvirt domain " + name + " vCPU " + cpu);
    }

    /** VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP: the command is HMP text, not QMP JSON. */
    private static final int QEMU_MONITOR_COMMAND_HMP = 1;

    /** Splits {@code info registers -a} output into its {@code CPU#n} blocks, in order. */
    public static java.util.List<String> hmpCpuBlocks(String text) {
        return HmpRegisters.cpuBlocks(text);
    }
}
