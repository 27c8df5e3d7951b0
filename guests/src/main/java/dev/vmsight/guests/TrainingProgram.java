package dev.vmsight.guests;

/** The six training programs built into the guest image (guests/training/), found at /training/&lt;name&gt;. */
public enum TrainingProgram {
    GETPID, GETTIME, PSLIST, GETPSFILE, LSMOD, GETDRVFILE;

    /** The program's file name. */
    public String fileName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    /** Where the program is inside the guest. */
    public String guestPath() {
        return "/training/" + fileName();
    }
}
