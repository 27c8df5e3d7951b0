package dev.vmsight.agent;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Where alerts go: one JSON object per line, appended to a file (flushed per alert, so a crash
 * loses none) and/or printed on stdout. Also keeps every alert of this process for status and
 * tests.
 */
final class AlertSink {
    private final Path file;
    private final PrintStream stdout;
    private final List<Alert> history = new ArrayList<>();

    AlertSink(Path file, PrintStream stdout) {
        this.file = file;
        this.stdout = stdout;
        if (file != null) {
            try {
                if (file.getParent() != null) Files.createDirectories(file.getParent());
            } catch (IOException e) {
                throw new AgentConfig.AgentConfigException("cannot create the folder of the alert file " + file + ": " + e.getMessage());
            }
        }
    }

    synchronized void emit(Alert alert) {
        history.add(alert);
        String line = alert.toJsonLine();
        if (stdout != null) {
            stdout.println(line);
            stdout.flush();
        }
        if (file != null) {
            try {
                Files.writeString(file, line + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND,
                        StandardOpenOption.WRITE);
            } catch (IOException e) {
                org.slf4j.LoggerFactory.getLogger(AlertSink.class).error("cannot append an alert to {}: {}; alert was {}", file, e.getMessage(), line);
            }
        }
    }

    synchronized List<Alert> history() {
        return List.copyOf(history);
    }
}
