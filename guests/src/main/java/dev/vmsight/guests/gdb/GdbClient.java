package dev.vmsight.guests.gdb;

import dev.vmsight.guests.UnixSockets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.function.Predicate;

/**
 * A client of QEMU's gdbstub (all-stop mode), for stopping a guest at user-space addresses and
 * inspecting it: registers ({@code g}), memory ({@code m}/{@code M}), single-step of the stopped
 * vCPU alone ({@code vCont;s:N}, or {@code s} where the stub has no vCont), continue ({@code c}),
 * hardware breakpoints ({@code Z1}/{@code z1}).
 *
 * <p>Why {@code vCont;s:N}: QEMU's plain {@code s} resumes every vCPU while the current one takes
 * its step (gdb_continue starts the whole VM). On a multi-vCPU guest the others then run through
 * a breakpoint that is removed for the step-over, and a hit is lost. {@code vCont;s:N} starts only
 * vCPU N (checked on QEMU 7.2 with two busy vCPUs: the other one's rip stays put).
 *
 * <p>Connecting stops the guest (QEMU pauses the VM when a debugger attaches); {@link #close()}
 * detaches, which lets it run again. Call order: any number of reads/writes/steps/continues
 * while connected; one request at a time (methods are synchronized).
 *
 * <p>Breakpoints are global to the guest: static binaries all load at 0x400000, so a breakpoint
 * in one program also fires in others. {@link #continueToBreakpoint(long, long, Duration)}
 * filters hits by CR3 and steps over the others the way gdb does: remove, single-step,
 * re-insert, continue.
 */
public final class GdbClient implements AutoCloseable {

    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);
    /** Bytes per m/M packet: the reply is twice that in hex, well under QEMU's 4 KiB packet buffer. */
    private static final int MEMORY_CHUNK = 1024;

    private static final java.util.regex.Pattern STOP_REPLY = java.util.regex.Pattern.compile("[TS][0-9a-fA-F]{2}");

    private final RspChannel rsp;
    private final Path socket;
    private final Set<Long> hardwareBreakpoints = new LinkedHashSet<>();
    /** Whether the stub steps one thread with {@code vCont;s:N} (its {@code vCont?} answer lists {@code s}). */
    private boolean stepsOneThread;
    /** The vCPU that last stopped (QEMU numbers them from 1), or -1 when the stub did not say. */
    private int stoppedThread;
    private boolean closed;

    private GdbClient(RspChannel rsp, Path socket) {
        this.rsp = rsp;
        this.socket = socket;
    }

    /** Connects to the gdbstub on {@code socket}; the guest is stopped afterwards. */
    public static GdbClient connect(Path socket, Duration timeout) {
        RspChannel rsp = new RspChannel(UnixSockets.connect(socket, timeout, "gdbstub"), socket);
        GdbClient client = new GdbClient(rsp, socket);
        try {
            // '?' both checks that a stub answers and tells why (and which vCPU) the guest is stopped.
            client.stoppedThread = StopReply.parse(rsp.request("?", timeout)).thread();
            if (client.stoppedThread < 0) client.stoppedThread = currentThread(client.ask("qC"));
            client.stepsOneThread = Arrays.asList(client.ask("vCont?").split(";")).contains("s");
            return client;
        } catch (RuntimeException e) {
            rsp.close();
            throw e;
        }
    }

    /** The registers of the current vCPU (the one that last stopped). */
    public synchronized X86Registers readRegisters() {
        return X86Registers.parseHex(checkError(ask("g"), "read registers"));
    }

    /** {@code length} bytes of guest-virtual memory at {@code address}, in the current vCPU's address space. */
    public synchronized byte[] readMemory(long address, int length) {
        if (length < 0) throw new IllegalArgumentException("length " + length);
        byte[] out = new byte[length];
        for (int done = 0; done < length; done += MEMORY_CHUNK) {
            int n = Math.min(MEMORY_CHUNK, length - done);
            long at = address + done;
            String reply = ask("m" + Long.toHexString(at) + "," + Integer.toHexString(n));
            if (reply.startsWith("E") && reply.length() == 3) {
                throw new GdbException(String.format("cannot read guest memory at 0x%x (%d bytes): gdbstub %s", at, n, reply));
            }
            byte[] chunk = HexFormat.of().parseHex(reply);
            if (chunk.length != n) {
                throw new GdbException(String.format("gdbstub returned %d bytes for a %d-byte read at 0x%x", chunk.length, n, at));
            }
            System.arraycopy(chunk, 0, out, done, n);
        }
        return out;
    }

    /** Writes {@code data} to guest-virtual memory at {@code address}. */
    public synchronized void writeMemory(long address, byte[] data) {
        for (int done = 0; done < data.length; done += MEMORY_CHUNK) {
            int n = Math.min(MEMORY_CHUNK, data.length - done);
            long at = address + done;
            String hex = HexFormat.of().formatHex(data, done, done + n);
            String reply = ask("M" + Long.toHexString(at) + "," + Integer.toHexString(n) + ":" + hex);
            if (!reply.equals("OK")) {
                throw new GdbException(String.format("cannot write guest memory at 0x%x (%d bytes): gdbstub %s", at, n, reply));
            }
        }
    }

    /**
     * Executes one instruction on the vCPU that last stopped (interrupts masked, QEMU's default);
     * the other vCPUs stay stopped where the stub can step one thread alone.
     */
    public synchronized StopReply step() {
        String packet = stepsOneThread && stoppedThread > 0 ? "vCont;s:" + Integer.toHexString(stoppedThread) : "s";
        return stopped(StopReply.parse(rsp.request(packet, REQUEST_TIMEOUT)));
    }

    /**
     * Resumes the guest until it stops (a breakpoint), at most {@code timeout}; then interrupts
     * it and throws {@link GdbTimeoutException}. If the current vCPU sits on one of our
     * breakpoints, it first steps off it (otherwise it would stop there again at once).
     */
    public synchronized StopReply cont(Duration timeout) {
        stepOffBreakpoint();
        rsp.send("c");
        try {
            return stopped(StopReply.parse(rsp.receive(timeout, "a stop reply after continue")));
        } catch (GdbTimeoutException e) {
            rsp.interrupt();
            stopped(StopReply.parse(rsp.receive(REQUEST_TIMEOUT, "the stop reply after an interrupt")));
            throw new GdbTimeoutException("the guest did not stop within " + timeout.toMillis() + " ms (interrupted it)");
        }
    }

    /** Inserts a hardware breakpoint ({@code Z1}) at a virtual address. */
    public synchronized void insertHardwareBreakpoint(long address) {
        String reply = ask("Z1," + Long.toHexString(address) + ",1");
        if (!reply.equals("OK")) {
            throw new GdbException(String.format("gdbstub refused a hardware breakpoint at 0x%x: '%s'", address,
                    reply.isEmpty() ? "not supported" : reply));
        }
        hardwareBreakpoints.add(address);
    }

    /** Removes a hardware breakpoint ({@code z1}) inserted with {@link #insertHardwareBreakpoint}. */
    public synchronized void removeHardwareBreakpoint(long address) {
        String reply = ask("z1," + Long.toHexString(address) + ",1");
        if (!reply.equals("OK")) {
            throw new GdbException(String.format("gdbstub could not remove the hardware breakpoint at 0x%x: '%s'", address, reply));
        }
        hardwareBreakpoints.remove(address);
    }

    /**
     * Continues until the guest executes {@code address} in the address space whose page-table root
     * is {@code cr3} (PCID bits ignored). Hits in other address spaces are stepped over. The
     * breakpoint stays inserted afterwards; remove it when done.
     */
    public BreakpointHit continueToBreakpoint(long address, long cr3, Duration timeout) {
        long root = cr3 & X86Registers.CR3_ROOT_MASK;
        return continueToBreakpoint(address, r -> r.pageTableRoot() == root, timeout);
    }

    /** Continues until the guest executes {@code address} with registers that {@code accept}. */
    public synchronized BreakpointHit continueToBreakpoint(long address, Predicate<X86Registers> accept, Duration timeout) {
        if (!hardwareBreakpoints.contains(address)) insertHardwareBreakpoint(address);
        long deadline = System.nanoTime() + timeout.toNanos();
        int skipped = 0;
        while (true) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new GdbTimeoutException(String.format("no accepted hit at 0x%x within %d ms (%d hits elsewhere skipped)",
                        address, timeout.toMillis(), skipped));
            }
            StopReply stop = cont(Duration.ofNanos(left));
            X86Registers regs = readRegisters();
            if (regs.rip() != address) {
                throw new GdbException(String.format("the guest stopped at 0x%x (signal %d), not at the breakpoint 0x%x",
                        regs.rip(), stop.signal(), address));
            }
            if (accept.test(regs)) return new BreakpointHit(regs, skipped);
            skipped++;
        }
    }

    /** Remembers which vCPU stopped: QEMU makes it the current one for g, m and the next step. */
    private StopReply stopped(StopReply stop) {
        if (stop.thread() > 0) stoppedThread = stop.thread();
        return stop;
    }

    /** The thread in a {@code qC} answer ({@code QC01} or the multiprocess {@code QCp1.01}), or -1. */
    static int currentThread(String reply) {
        if (!reply.startsWith("QC")) return -1;
        String id = reply.substring(2);
        if (id.startsWith("p") && id.contains(".")) id = id.substring(id.indexOf('.') + 1);
        try {
            return Integer.parseInt(id, 16);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private void stepOffBreakpoint() {
        if (hardwareBreakpoints.isEmpty()) return;
        long rip = readRegisters().rip();
        if (!hardwareBreakpoints.contains(rip)) return;
        removeHardwareBreakpoint(rip);
        try {
            step();
        } finally {
            insertHardwareBreakpoint(rip);
        }
    }

    /**
     * Sends a request that is not a resumption and returns its answer. A stop reply here is stale
     * (QEMU announces the stop it makes when a debugger connects): skip it.
     */
    private String ask(String payload) {
        String reply = rsp.request(payload, REQUEST_TIMEOUT);
        while (STOP_REPLY.matcher(reply).lookingAt()) reply = rsp.receive(REQUEST_TIMEOUT, "the answer to '" + payload + "'");
        return reply;
    }

    private String checkError(String reply, String what) {
        if (reply.length() == 3 && reply.startsWith("E")) {
            throw new GdbException("gdbstub on " + socket + " could not " + what + ": " + reply);
        }
        return reply;
    }

    /** Removes our breakpoints and detaches ({@code D}): the guest runs on. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        try {
            for (Long bp : Set.copyOf(hardwareBreakpoints)) removeHardwareBreakpoint(bp);
            ask("D");
        } catch (GdbException e) {
            // the stub is gone (QEMU stopped); nothing left to detach from
        } finally {
            rsp.close();
        }
    }
}
