package dev.vmsight.guests;

import java.nio.file.Path;

/**
 * What a security VM needs of one lab guest, on the host: the guest's RAM file (shared into the
 * VM as an ivshmem-plain device), and the unix sockets of its second QMP monitor and of its second
 * qemu-guest-agent channel (the VM's QEMU connects to both and hands them to the agent as
 * virtio-serial ports).
 *
 * @param ramBytes the RAM file's size: an ivshmem BAR must be a power of two
 */
public record WatchChannels(String guest, Path ramFile, long ramBytes, Path qmp, Path qga) { }
