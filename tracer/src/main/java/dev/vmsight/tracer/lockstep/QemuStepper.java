package dev.vmsight.tracer.lockstep;

import dev.vmsight.guests.gdb.GdbClient;
import dev.vmsight.guests.gdb.StopReply;
import dev.vmsight.guests.gdb.X86Registers;

/**
 * QEMU's side of one lockstep step: steps the vCPU once (gdbstub {@code s}, interrupts masked)
 * at most once per step, when the interpreter needs its result early (an environment value, an
 * MSR learned from a syscall) or when the interpreter has finished.
 */
final class QemuStepper {
    private final GdbClient gdb;
    private X86Registers before;
    private X86Registers after;

    QemuStepper(GdbClient gdb, X86Registers current) {
        this.gdb = gdb;
        this.before = current;
    }

    /** QEMU's registers before the current step. */
    X86Registers before() { return before; }

    /** Steps QEMU if it has not stepped yet in this step; returns its registers after the step. */
    X86Registers after() {
        if (after == null) {
            StopReply reply = gdb.step();
            if (reply.signal() != StopReply.SIGTRAP) {
                throw new IllegalStateException("gdbstub step at rip 0x" + Long.toHexString(before.rip())
                        + " stopped with signal " + reply.signal() + " (" + reply.raw() + "), not SIGTRAP");
            }
            after = gdb.readRegisters();
        }
        return after;
    }

    /** Ends the step: QEMU's post-step registers become the next step's starting point. */
    X86Registers finish() {
        X86Registers r = after();
        before = r;
        after = null;
        return r;
    }
}
