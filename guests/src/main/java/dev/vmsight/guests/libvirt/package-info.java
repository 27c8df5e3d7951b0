/**
 * Lab guests as libvirt domains (libvirt-java 0.5.4 over JNA, libvirtd at qemu:///system started by
 * scripts/libvirtd-up.sh). {@link dev.vmsight.guests.libvirt.LibvirtGuest#start} defines and boots
 * the same guest the QEMU launcher boots (TCG, direct kernel boot, RAM in a shared file under
 * libvirt's memory_backing_dir, qemu-guest-agent channel, ttyS0 to a log); {@code attach} takes
 * over a running one. Guest memory comes out three ways, all read-only: virDomainMemoryPeek
 * ({@code physicalMemory()}, 64 KiB per request, ≈10 ms each), the shared RAM file located by
 * asking QEMU (qom-get mem-path) and mapped by QEMU's memory tree ({@code ramFileMemory()}), and
 * memory-only ELF cores ({@code dumpElf}).
 */
package dev.vmsight.guests.libvirt;
