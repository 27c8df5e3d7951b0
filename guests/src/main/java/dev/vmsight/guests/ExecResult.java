package dev.vmsight.guests;

/** What a command run in the guest through qemu-guest-agent returned. */
public record ExecResult(int exitCode, String stdout, String stderr) {

    /** The stdout, or an exception naming the command's exit code and stderr when it failed. */
    public String stdoutOrThrow(String what) {
        if (exitCode != 0) {
            throw new GuestException(what + " exited with " + exitCode + ": " + stderr.strip());
        }
        return stdout;
    }
}
