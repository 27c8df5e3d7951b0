package dev.vmsight.guests;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

/**
 * The lab rootkit (guests/rootkit/vmsight_hide.c) driven through qemu-guest-agent: the module
 * file is copied into the guest's /tmp (guest-file-write), then insmod with the PID to hide and
 * the mode; rmmod undoes it. What the agent's hidden-process and hook detection is tested against.
 */
public final class LabRootkit {

    /** How the module hides the PID (guests/rootkit/vmsight_hide.c says what each patches). */
    public enum Mode {
        /** a data hook: /proc's root inode gets a file_operations copy with a filtering iterate_shared */
        FOPS,
        /** a code patch: ftrace rewrites filldir64's fentry NOP into a call that redirects it */
        FTRACE,
        /**
         * the classic sys_call_table[__NR_getdents64] replacement, with a wrapper that only counts
         * its calls ({@link #systemCallTableCalls}): on a kernel that dispatches through
         * x64_sys_call's switch the entry is never called and hides nothing
         */
        SCT;

        public String parameter() { return name().toLowerCase(Locale.ROOT); }

        public static Mode parse(String text) {
            for (Mode m : values()) {
                if (m.parameter().equalsIgnoreCase(text.strip())) return m;
            }
            throw new GuestException("unknown rootkit mode '" + text + "': use fops (data hook), ftrace (code patch) or sct (system call table)");
        }
    }

    /** The module's name in /proc/modules. */
    public static final String MODULE = "vmsight_hide";
    private static final String GUEST_FILE = "/tmp/vmsight_hide.ko";
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    private LabRootkit() { }

    /** Copies {@code module} into {@code guest} and loads it hiding {@code pid}; the guest's insmod error if it refuses. */
    public static void load(Guest guest, Path module, int pid, Mode mode) {
        if (pid <= 0) throw new GuestException("the PID to hide must be positive, not " + pid);
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(module);
        } catch (IOException e) {
            throw new GuestException("cannot read the rootkit module " + module + ": " + e.getMessage(), e);
        }
        guest.writeFile(GUEST_FILE, bytes);
        ExecResult r = guest.exec(TIMEOUT, List.of("/sbin/insmod", GUEST_FILE, "hide_pid=" + pid, "mode=" + mode.parameter()));
        if (r.exitCode() != 0) {
            throw new GuestException("insmod " + MODULE + " hide_pid=" + pid + " mode=" + mode.parameter() + " failed in guest "
                    + guest.name() + " (exit " + r.exitCode() + "): " + r.stderr().strip());
        }
    }

    /** Unloads the module (rmmod); an error if it is not loaded or refuses. */
    public static void unload(Guest guest) {
        ExecResult r = guest.exec(TIMEOUT, List.of("/sbin/rmmod", MODULE));
        if (r.exitCode() != 0) {
            throw new GuestException("rmmod " + MODULE + " failed in guest " + guest.name() + " (exit " + r.exitCode() + "): "
                    + r.stderr().strip());
        }
    }

    /** How many calls reached the replaced system call table entry (mode SCT) since loading. */
    public static int systemCallTableCalls(Guest guest) {
        String out = guest.exec(TIMEOUT, List.of("/bin/cat", "/sys/module/" + MODULE + "/parameters/sct_calls"))
                .stdoutOrThrow("cat /sys/module/" + MODULE + "/parameters/sct_calls");
        return Integer.parseInt(out.strip());
    }

    /** True when the module is in the guest's /proc/modules. */
    public static boolean loaded(Guest guest) {
        String modules = guest.exec(TIMEOUT, List.of("/bin/cat", "/proc/modules")).stdoutOrThrow("cat /proc/modules");
        return modules.lines().anyMatch(l -> l.startsWith(MODULE + " "));
    }
}
