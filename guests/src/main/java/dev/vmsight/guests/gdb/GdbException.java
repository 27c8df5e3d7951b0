package dev.vmsight.guests.gdb;

import dev.vmsight.guests.GuestException;

/** The gdbstub refused a request, answered with an error, or went away; the message says which. */
public class GdbException extends GuestException {
    public GdbException(String message) { super(message); }
    public GdbException(String message, Throwable cause) { super(message, cause); }
}
