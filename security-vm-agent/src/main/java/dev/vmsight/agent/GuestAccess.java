package dev.vmsight.agent;

import dev.vmsight.guests.Guest;
import dev.vmsight.guests.LabInstance;
import dev.vmsight.guests.LabLayout;
import dev.vmsight.guests.libvirt.LibvirtGuest;
import dev.vmsight.jit.run.GuestSource;
import dev.vmsight.jit.run.GuestSources;
import dev.vmsight.jit.run.GuestSpec;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How the agent reaches one guest: its memory and vCPU (a {@link GuestSource}, the guest paused
 * while it is open) and its own view of its processes (qemu-guest-agent, the guest running). The
 * guest-agent connection is kept between cycles and dropped on any failure, so a guest that
 * rebooted or was re-created is reconnected on the next cycle.
 */
final class GuestAccess implements AutoCloseable {
    private static final Duration VIEW_TIMEOUT = Duration.ofSeconds(10);
    private static final Pattern PID = Pattern.compile("(?<![^\\s])(\\d+)(?![^\\s])");
    /**
     * The guest's own listing of /proc: a shell glob reads the directory (getdents64, what any
     * tool of the guest sees) and stats nothing, so a process exiting meanwhile is no error
     * (busybox ls stats each entry and exits 1 on one that vanished).
     */
    private static final List<String> LIST_PROC = List.of("/bin/sh", "-c", "cd /proc && echo [0-9]*");

    private final AgentConfig.Access access;
    private Guest view;
    /** A cycle paused the guest and could not resume it (libvirtd or QEMU went away meanwhile). */
    private boolean owesResume;

    private final boolean pause;

    GuestAccess(AgentConfig.Access access, boolean pause) {
        this.access = access;
        this.pause = pause;
    }

    String describe() {
        if (access instanceof AgentConfig.Access.Lab l) return "lab guest '" + l.instance() + "'";
        AgentConfig.Access.Libvirt v = (AgentConfig.Access.Libvirt) access;
        return "libvirt domain " + v.domain() + " at " + v.uri();
    }

    /** Pauses the guest (unless configured not to) and opens its memory and vCPU 0; closing the source resumes it. */
    GuestSource open() {
        if (access instanceof AgentConfig.Access.Lab l) {
            return GuestSources.open(new GuestSpec.Lab(layout(l), l.instance()), 0, pause);
        }
        AgentConfig.Access.Libvirt v = (AgentConfig.Access.Libvirt) access;
        return GuestSources.open(new GuestSpec.Libvirt(v.uri(), v.domain()), 0, pause);
    }

    /** Remembers that the last cycle paused the guest and failed to resume it. */
    synchronized void owesResume() {
        owesResume = true;
    }

    /**
     * Resumes the guest a failed cycle left paused, before anything else: the next cycle would see
     * a paused guest and, rightly, leave a guest it did not pause paused. A GuestException while
     * the guest is still unreachable; the debt stays until it is paid.
     */
    synchronized void settleResume() {
        if (!owesResume) return;
        Guest g = attach();
        try {
            if (!g.running()) g.resume();
            owesResume = false;
        } finally {
            release(g);
        }
    }

    /**
     * Whether the guest's vCPUs run now (a GuestException when it cannot be reached). Asked on a
     * connection of its own, closed at once: a lab guest's QMP socket takes one client at a time,
     * and the source opened next needs it.
     */
    synchronized boolean running() {
        Guest g = attach();
        try {
            return g.running();
        } finally {
            release(g);
        }
    }

    /** The PIDs in the guest's own view of {@code /proc}, through qemu-guest-agent; a GuestException when it cannot answer. */
    synchronized Set<Long> ownPids() {
        try {
            String out = guest().exec(VIEW_TIMEOUT, LIST_PROC).stdoutOrThrow("the guest's own view of /proc");
            Set<Long> pids = new TreeSet<>();
            Matcher m = PID.matcher(out);
            while (m.find()) pids.add(Long.parseLong(m.group(1)));
            if (pids.isEmpty()) throw new dev.vmsight.guests.GuestException("the guest's own view of /proc holds no PID: " + out.strip());
            return pids;
        } catch (RuntimeException e) {
            dropView();
            throw e;
        }
    }

    private Guest guest() {
        if (view == null) view = attach();
        return view;
    }

    private Guest attach() {
        if (access instanceof AgentConfig.Access.Lab l) {
            return LabInstance.attach(layout(l), l.instance());
        }
        AgentConfig.Access.Libvirt v = (AgentConfig.Access.Libvirt) access;
        return LibvirtGuest.attach(v.uri(), v.domain());
    }

    private static void release(Guest g) {
        try {
            if (g instanceof LibvirtGuest l) l.disconnect(); else LabInstance.release(g);
        } catch (RuntimeException ignored) {
            // dropping a connection that failed
        }
    }

    private static LabLayout layout(AgentConfig.Access.Lab l) {
        return l.root() == null ? LabLayout.locate() : LabLayout.at(l.root());
    }

    private void dropView() {
        Guest g = view;
        view = null;
        if (g != null) release(g);
    }

    /**
     * Ends a cycle's use of the guest agent. A lab guest's qemu-guest-agent socket takes one
     * client at a time, so the agent lets go of it between cycles (vmsight lab exec can then
     * reach the guest); libvirt multiplexes its agent channel, so that connection stays.
     */
    synchronized void endCycle() {
        if (access instanceof AgentConfig.Access.Lab) dropView();
    }

    @Override
    public synchronized void close() {
        dropView();
    }
}
