package dev.vmsight.vmi.phys;

import java.util.Map;
import java.util.NoSuchElementException;
import java.util.OptionalLong;

/**
 * One vCPU's registers as an ELF core records them. QEMU writes, per vCPU, an NT_PRSTATUS note
 * (general registers, rip, rflags, segment selectors, fs/gs base) and a "QEMU" note that adds the
 * control registers (cr0..cr4), segment bases and, from version 1 on, the kernel GS base. Registers
 * are named in lower case: rax.. r15, rip, rsp, rflags, cr0, cr2, cr3, cr4, fs_base, gs_base,
 * kernel_gs_base, cs, ss, ...
 *
 * @param index     vCPU number (order of the notes in the core)
 * @param registers every register the notes gave, by name
 */
public record CoreCpuState(int index, Map<String, Long> registers) {

    public CoreCpuState {
        registers = Map.copyOf(registers);
    }

    /** The register, if the core recorded it. */
    public OptionalLong find(String name) {
        Long v = registers.get(name);
        return v == null ? OptionalLong.empty() : OptionalLong.of(v);
    }

    /** The register; throws naming the register and vCPU when the core did not record it. */
    public long get(String name) {
        Long v = registers.get(name);
        if (v == null) {
            throw new NoSuchElementException("the ELF core has no " + name + " for vCPU " + index
                    + " (it recorded " + new java.util.TreeSet<>(registers.keySet()) + ")");
        }
        return v;
    }

    public long rip() { return get("rip"); }

    public long rsp() { return get("rsp"); }

    /** Page-table root; only QEMU's own note carries it. */
    public long cr3() { return get("cr3"); }
}
