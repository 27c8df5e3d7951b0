package dev.vmsight.agent;

import dev.vmsight.guests.ExecResult;
import dev.vmsight.guests.Guest;
import dev.vmsight.guests.GuestAgentClient;
import dev.vmsight.guests.GuestException;
import dev.vmsight.guests.LabInstance;
import dev.vmsight.guests.LabLayout;
import dev.vmsight.guests.QmpClient;
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
 * guest-agent connection is kept for one cycle and dropped on any failure, so a guest that
 * rebooted or was re-created is reconnected on the next cycle.
 */
final class GuestAccess implements AutoCloseable {
    private static final Duration VIEW_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
    private static final Pattern PID = Pattern.compile("(?<![^\\s])(\\d+)(?![^\\s])");
    /**
     * The guest's own listing of /proc: a shell glob reads the directory (getdents64, what any
     * tool of the guest sees) and stats nothing, so a process exiting meanwhile is no error
     * (busybox ls stats each entry and exits 1 on one that vanished).
     */
    private static final List<String> LIST_PROC = List.of("/bin/sh", "-c", "cd /proc && echo [0-9]*");

    /** What the agent needs of a guest besides its memory: run state, resume, and qemu-guest-agent. */
    private interface Handle extends AutoCloseable {
        boolean running();

        void resume();

        ExecResult exec(Duration timeout, List<String> argv);

        @Override
        void close();
    }

    private final AgentConfig.Access access;
    private final boolean pause;
    private Handle view;
    /** A cycle paused the guest and could not resume it (libvirtd or QEMU went away meanwhile). */
    private boolean owesResume;

    GuestAccess(AgentConfig.Access access, boolean pause) {
        this.access = access;
        this.pause = pause;
    }

    /** Pauses the guest (unless configured not to) and opens its memory and vCPU 0; closing the source resumes it. */
    GuestSource open() {
        return open(pause);
    }

    /** Opens the guest's memory and vCPU 0 without pausing it (what does not change while it runs: its kernel code). */
    GuestSource openRunning() {
        return open(false);
    }

    private GuestSource open(boolean pauseIt) {
        if (access instanceof AgentConfig.Access.Lab l) {
            return GuestSources.open(new GuestSpec.Lab(layout(l), l.instance()), 0, pauseIt);
        }
        if (access instanceof AgentConfig.Access.Qemu q) {
            return GuestSources.open(new GuestSpec.RamFile(q.ramFile(), q.qmp(), null), 0, pauseIt);
        }
        AgentConfig.Access.Libvirt v = (AgentConfig.Access.Libvirt) access;
        return GuestSources.open(new GuestSpec.Libvirt(v.uri(), v.domain()), 0, pauseIt);
    }

    /**
     * Whether the guest's vCPUs run now (a GuestException when it cannot be reached). Asked on a
     * connection of its own, closed at once: a QEMU guest's QMP socket takes one client at a time,
     * and the source opened next needs it.
     */
    synchronized boolean running() {
        try (Handle h = attach()) {
            return h.running();
        }
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
        try (Handle h = attach()) {
            if (!h.running()) h.resume();
            owesResume = false;
        }
    }

    /** The PIDs in the guest's own view of {@code /proc}, through qemu-guest-agent; a GuestException when it cannot answer. */
    synchronized Set<Long> ownPids() {
        try {
            if (view == null) view = attach();
            String out = view.exec(VIEW_TIMEOUT, LIST_PROC).stdoutOrThrow("the guest's own view of /proc");
            Set<Long> pids = new TreeSet<>();
            Matcher m = PID.matcher(out);
            while (m.find()) pids.add(Long.parseLong(m.group(1)));
            if (pids.isEmpty()) throw new GuestException("the guest's own view of /proc holds no PID: " + out.strip());
            return pids;
        } catch (RuntimeException e) {
            dropView();
            throw e;
        }
    }

    /**
     * Ends a cycle's use of the guest agent. A QEMU guest's qemu-guest-agent socket takes one
     * client at a time, so the agent lets go of it between cycles (vmsight lab exec can then
     * reach the guest); libvirt multiplexes its agent channel, so that connection stays.
     */
    synchronized void endCycle() {
        if (!(access instanceof AgentConfig.Access.Libvirt)) dropView();
    }

    private static LabLayout layout(AgentConfig.Access.Lab l) {
        return l.root() == null ? LabLayout.locate() : LabLayout.at(l.root());
    }

    private Handle attach() {
        if (access instanceof AgentConfig.Access.Qemu q) return new Sockets(q);
        Guest g;
        if (access instanceof AgentConfig.Access.Lab l) {
            g = LabInstance.attach(layout(l), l.instance());
        } else {
            AgentConfig.Access.Libvirt v = (AgentConfig.Access.Libvirt) access;
            g = LibvirtGuest.attach(v.uri(), v.domain());
        }
        return new OfGuest(g);
    }

    private void dropView() {
        Handle h = view;
        view = null;
        if (h == null) return;
        try {
            h.close();
        } catch (RuntimeException ignored) {
            // dropping a connection that failed
        }
    }

    @Override
    public synchronized void close() {
        dropView();
    }

    /** A lab guest or libvirt domain: the guests module's {@link Guest}. */
    private record OfGuest(Guest guest) implements Handle {
        public boolean running() { return guest.running(); }

        public void resume() { guest.resume(); }

        public ExecResult exec(Duration timeout, List<String> argv) { return guest.exec(timeout, argv); }

        public void close() {
            if (guest instanceof LibvirtGuest l) l.disconnect(); else LabInstance.release(guest);
        }
    }

    /** A QEMU guest given by its sockets: QMP for run state and resume, the agent's socket for exec; each connected on first use. */
    private static final class Sockets implements Handle {
        private final AgentConfig.Access.Qemu q;
        private QmpClient qmp;
        private GuestAgentClient qga;

        Sockets(AgentConfig.Access.Qemu q) {
            this.q = q;
        }

        private QmpClient qmp() {
            if (qmp == null) qmp = QmpClient.connect(q.qmp(), CONNECT_TIMEOUT);
            return qmp;
        }

        public boolean running() {
            return qmp().execute("query-status", null, CONNECT_TIMEOUT).path("status").asText().equals("running");
        }

        public void resume() {
            qmp().execute("cont", null, CONNECT_TIMEOUT);
        }

        public ExecResult exec(Duration timeout, List<String> argv) {
            if (qga == null) qga = GuestAgentClient.connect(q.qga(), CONNECT_TIMEOUT);
            return qga.exec(timeout, argv);
        }

        public void close() {
            try {
                if (qmp != null) qmp.close();
            } finally {
                if (qga != null) qga.close();
            }
        }
    }
}
