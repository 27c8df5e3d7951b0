package dev.vmsight.guests;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * A lab guest run by a qemu-system-x86_64 process that vmsight started (TCG), with its QMP,
 * gdbstub and qemu-guest-agent sockets, serial log and state files in {@link #runDir()}.
 */
public interface QemuGuest extends Guest {

    /** The QEMU process's PID on the host. */
    long pid();

    /** Where this instance's sockets, serial log and pid file live. */
    Path runDir();

    /** The guest's serial console (ttyS0), written by QEMU. */
    Path serialLog();

    /** The gdbstub's unix socket (connect with {@link dev.vmsight.guests.gdb.GdbClient}). */
    Path gdbSocket();

    /** QMP's view of the run state: "running", "paused", ... */
    String runState();

    /**
     * Runs one human-monitor command through QMP (e.g. "info registers", which shows GDTR, IDTR
     * and TR that the gdbstub does not) and returns its text.
     */
    String hmp(String command);

    /** Starts {@code argv} in the guest through qemu-guest-agent without waiting; returns its guest PID. */
    long spawn(List<String> argv);

    /** The result of a command started with {@link #spawn}, empty while it still runs. */
    Optional<ExecResult> poll(long guestPid);

    /**
     * Readies this guest to be watched by a security VM and says how the VM reaches it: its RAM
     * file, its second QMP monitor (started with every lab guest), and a second qemu-guest-agent
     * channel, hot-plugged on first call (a virtserialport on QEMU's side, a second qemu-ga in the
     * guest); a later call finds them in place. The host's own QMP and agent sockets stay free.
     */
    WatchChannels openWatchChannels();

    /**
     * Lets the guest outlive this JVM (for {@code vmsight lab boot}): drops the shutdown hook
     * that would kill it and closes this side's connections. Stop it later through
     * {@link QemuLauncher#attach}.
     */
    void detach();
}
