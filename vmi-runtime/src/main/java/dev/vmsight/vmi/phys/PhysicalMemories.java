package dev.vmsight.vmi.phys;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.libvirt.Domain;
import org.libvirt.MemoryAddressMode;

/** Opens guest-physical memory sources. Every source is read-only. */
public final class PhysicalMemories {
    private PhysicalMemories() {
    }

    /**
     * A shared RAM file (QEMU memory-backend-file, libvirt's memory_backing_dir) mapped read-only;
     * {@code map} says which file offset holds which guest-physical range (read it from QEMU's
     * memory tree; identity from 0 only for small pc guests).
     */
    public static PhysicalMemory ramFile(Path file, MemoryMap map) {
        return new RamFileMemory(MappedFile.open(file, "RAM file"), map, "RAM file");
    }

    /** A raw physical image: file offset = guest-physical address, for the whole file. */
    public static PhysicalMemory rawImage(Path file) {
        MappedFile f = MappedFile.open(file, "raw image");
        return new RamFileMemory(f, MemoryMap.identity(f.length()), "raw image");
    }

    /** A memory-only ELF core: PT_LOAD segments and the vCPU notes. */
    public static ElfCore elfCore(Path file) {
        return ElfCoreMemory.open(MappedFile.open(file, "ELF core"));
    }

    /**
     * Guest memory through libvirt's virDomainMemoryPeek(VIR_MEMORY_PHYSICAL), in requests of at
     * most 64 KiB, over the guest-physical ranges of {@code map}. Uncached: wrap it in
     * {@link CachingPhysicalMemory} for a run.
     */
    public static PhysicalMemory libvirt(Domain domain, MemoryMap map, String domainName) {
        return peeking((addr, dst) -> domain.memoryPeek(addr, dst, MemoryAddressMode.PHYSICAL), map,
                "libvirt memoryPeek of domain " + domainName);
    }

    /** Guest memory through any peek with libvirt's cost profile (chunked to 64 KiB per request). */
    public static PhysicalMemory peeking(PhysicalPeek peek, MemoryMap map, String description) {
        // Peeks take guest-physical addresses: the backing offset of every segment is its start.
        List<MemoryMap.Segment> physical = new ArrayList<>();
        for (MemoryMap.Segment s : map.segments()) physical.add(new MemoryMap.Segment(s.physStart(), s.length(), s.physStart()));
        return new PeekingMemory(peek, new MemoryMap(physical), description);
    }
}
