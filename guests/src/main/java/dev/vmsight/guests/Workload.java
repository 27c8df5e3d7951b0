package dev.vmsight.guests;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The lab guest's workload as its launcher recorded it in /run/vmsight-workload (guests/image/workload.c). */
public final class Workload {
    private static final Pattern SLEEPER = Pattern.compile("(?m)^sleeper (\\d+) ");

    private Workload() { }

    /** The sleepers' PIDs, in the order they were started (vmsleep-1 first). */
    public static List<Long> sleepers(Guest guest) {
        String text = guest.exec(Duration.ofSeconds(60), List.of("/bin/cat", "/run/vmsight-workload"))
                .stdoutOrThrow("cat /run/vmsight-workload");
        List<Long> pids = new ArrayList<>();
        Matcher m = SLEEPER.matcher(text);
        while (m.find()) pids.add(Long.parseLong(m.group(1)));
        return pids;
    }
}
