package dev.vmsight.agent;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vmsight.jit.run.RunOutcome;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.Locale;
import java.util.Map;
import org.slf4j.LoggerFactory;

/**
 * One JSON line per cycle ({@code [metrics] cycles_file}): the metrics of an agent that has no
 * network to be scraped over, as in the security VM, where the file is a virtio-serial port the
 * host appends to a file. Each line holds the guest, its state, cycle and pause time, and each
 * monitor run's outcome with its time.
 */
final class CycleLog {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;
    private final Clock clock;

    CycleLog(Path file, Clock clock) {
        this.file = file;
        this.clock = clock;
    }

    synchronized void write(String guest, CycleReport report, GuestStatus status) {
        if (file == null) return;
        String line = line(guest, report, status, clock);
        try {
            Files.writeString(file, line + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND,
                    StandardOpenOption.WRITE);
        } catch (IOException e) {
            LoggerFactory.getLogger(CycleLog.class).warn("cannot append a cycle line to {}: {}", file, e.getMessage());
        }
    }

    static String line(String guest, CycleReport report, GuestStatus status, Clock clock) {
        ObjectNode o = JSON.createObjectNode();
        o.put("time", clock.instant().toString());
        o.put("guest", guest);
        o.put("ok", report.ok());
        o.put("state", status.state());
        o.put("cycle_ms", report.cycleNanos() / 1e6);
        o.put("pause_ms", report.pauseNanos() / 1e6);
        ObjectNode runs = o.putObject("runs");
        for (Map.Entry<String, RunOutcome> e : report.outcomes().entrySet()) {
            ObjectNode r = runs.putObject(e.getKey());
            RunOutcome out = e.getValue();
            if (out instanceof RunOutcome.Answered a) {
                r.put("answered", true).put("ms", a.micros() / 1e3);
            } else {
                r.put("answered", false).put("refused", out instanceof RunOutcome.UnseenPath ? "unseen_path"
                        : out instanceof RunOutcome.OverBudget ? "budget" : ((RunOutcome.Failed) out).kind().toLowerCase(Locale.ROOT));
            }
        }
        o.put("alerts", report.alerts().size());
        o.put("hidden_processes", status.hiddenProcesses());
        o.put("hooks", status.hooks());
        return o.toString();
    }
}
