package dev.vmsight.guests;

import java.nio.file.Path;
import java.nio.file.Paths;

/** The files of one QEMU lab instance: sockets, logs and pid file in its run directory, RAM in /dev/shm. */
record RunFiles(Path dir, String name) {

    Path qmp() { return dir.resolve("qmp.sock"); }
    Path qga() { return dir.resolve("qga.sock"); }
    /** A second QMP monitor, for a security VM watching this guest (QMP takes one client per socket; the host keeps qmp.sock). */
    Path qmpWatch() { return dir.resolve("qmp-watch.sock"); }
    /** A second qemu-guest-agent channel, hot-plugged when a security VM starts watching this guest. */
    Path qgaWatch() { return dir.resolve("qga-watch.sock"); }
    Path gdb() { return dir.resolve("gdb.sock"); }
    Path serial() { return dir.resolve("serial.log"); }
    Path qemuLog() { return dir.resolve("qemu.log"); }
    Path pidFile() { return dir.resolve("qemu.pid"); }

    /** Guest-physical RAM, shared with QEMU (memory-backend-file, share=on). */
    Path ram() { return Paths.get("/dev/shm", "vmsight-" + name + ".ram"); }
}
