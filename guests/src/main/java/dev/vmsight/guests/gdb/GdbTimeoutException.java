package dev.vmsight.guests.gdb;

/** The gdbstub did not answer in time (or, for continue, the guest did not stop in time). */
public final class GdbTimeoutException extends GdbException {
    public GdbTimeoutException(String message) { super(message); }
}
