package dev.vmsight.guests;

import java.util.OptionalLong;

/** A guest did not boot; QEMU (if it had started) has been killed and this says which process it was. */
public final class GuestBootException extends GuestException {

    private final long qemuPid;

    GuestBootException(String message, long qemuPid, Throwable cause) {
        super(message, cause);
        this.qemuPid = qemuPid;
    }

    /** The PID of the QEMU process that was started and then killed, if one was started. */
    public OptionalLong qemuPid() {
        return qemuPid > 0 ? OptionalLong.of(qemuPid) : OptionalLong.empty();
    }
}
