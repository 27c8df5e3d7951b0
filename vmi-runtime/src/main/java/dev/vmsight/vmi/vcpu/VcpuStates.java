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

    /** Splits {@code info registers -a} output into its {@code CPU#n} blocks, in order. */
    public static java.util.List<String> hmpCpuBlocks(String text) {
        return HmpRegisters.cpuBlocks(text);
    }
}
