package dev.vmsight.guests;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * A running lab guest, whichever way it was started (QEMU directly, or a libvirt domain).
 * Implementations own the guest's process: {@link #close()} stops it and never leaves a QEMU
 * process behind.
 */
public interface Guest extends AutoCloseable {

    /** Short name of the guest (the libvirt domain name, or the lab instance name). */
    String name();

    /** The configuration it was booted with. */
    GuestConfig config();

    /** Runs {@code argv} in the guest through qemu-guest-agent and waits for it to exit. */
    ExecResult exec(Duration timeout, List<String> argv);

    /** Writes {@code content} to the file {@code guestPath} in the guest through qemu-guest-agent (guest-file-*). */
    void writeFile(String guestPath, byte[] content);

    /** True while the guest's vCPUs run; false when it is paused (by anyone) or stopped. */
    boolean running();

    /** Stops the guest's vCPUs (QMP {@code stop}). */
    void pause();

    /** Resumes the guest's vCPUs (QMP {@code cont}). */
    void resume();

    /**
     * The file holding guest-physical RAM (a shared memory-backend-file), readable while the
     * guest runs. Offset 0 is guest-physical address 0 for guests below the PCI hole.
     */
    Path ramFile();

    /** Writes a memory-only ELF core of the guest (QMP dump-guest-memory / virDomainCoreDump). */
    default void dumpElf(Path out) {
        dumpElf(out, false);
    }

    /**
     * Writes a memory-only ELF core; {@code paging}: one PT_LOAD per virtual mapping of vCPU 0's page
     * tables, with its virtual address (drgn 0.0.22 needs it of a guest whose phys_base is 0).
     *
     * @throws GuestException when the guest cannot write such a core (libvirt's memory-only dump has no paging)
     */
    void dumpElf(Path out, boolean paging);

    /** Stops the guest and releases everything it held (process, sockets, RAM file). */
    @Override
    void close();
}
