package dev.vmsight.vmi.phys;

import java.util.List;
import java.util.Set;

/**
 * A memory-only ELF core (QMP dump-guest-memory, {@code virsh dump --memory-only},
 * virDomainCoreDump with VIR_DUMP_MEMORY_ONLY): guest-physical memory from its PT_LOAD segments plus
 * the vCPU states from its notes.
 */
public interface ElfCore extends PhysicalMemory {

    /** One entry per vCPU, in the order of the notes. */
    List<CoreCpuState> cpus();

    /** The names of the core's notes ("CORE", "QEMU", "VMCOREINFO" when the guest's kernel handed it to QEMU). */
    Set<String> noteNames();
}
