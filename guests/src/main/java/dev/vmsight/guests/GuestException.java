package dev.vmsight.guests;

/** A lab guest could not be built, started, reached or controlled; the message says which and why. */
public class GuestException extends RuntimeException {
    public GuestException(String message) { super(message); }
    public GuestException(String message, Throwable cause) { super(message, cause); }
}
