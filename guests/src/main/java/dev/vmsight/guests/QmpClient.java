package dev.vmsight.guests;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A QMP connection: reads the greeting, negotiates capabilities, then runs one command at a time.
 * Asynchronous events (objects with an "event" member) are skipped while waiting for an answer.
 */
public final class QmpClient implements AutoCloseable {

    private final JsonLineChannel channel;
    private final Path socket;

    private QmpClient(JsonLineChannel channel, Path socket) {
        this.channel = channel;
        this.socket = socket;
    }

    public static QmpClient connect(Path socket, Duration timeout) {
        JsonLineChannel ch = JsonLineChannel.connect(socket, timeout, "QMP");
        try {
            JsonNode greeting = ch.next(timeout, "the greeting");
            if (!greeting.has("QMP")) {
                throw new GuestException("QMP on " + socket + " greeted with " + greeting + ", not a QMP greeting");
            }
            QmpClient qmp = new QmpClient(ch, socket);
            qmp.execute("qmp_capabilities", null, timeout);
            return qmp;
        } catch (RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** Runs {@code command} and returns its "return" member; a QMP error becomes a {@link GuestException}. */
    public synchronized JsonNode execute(String command, ObjectNode arguments, Duration timeout) {
        ObjectNode request = JsonLineChannel.JSON.createObjectNode().put("execute", command);
        if (arguments != null) request.set("arguments", arguments);
        channel.discardPending();
        channel.send(request);
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            Duration left = Duration.ofNanos(Math.max(1, deadline - System.nanoTime()));
            JsonNode answer = channel.next(left, "'" + command + "'");
            if (answer.has("event")) continue;
            if (answer.has("error")) {
                JsonNode error = answer.get("error");
                throw new GuestException("QMP '" + command + "' on " + socket + " failed: "
                        + error.path("class").asText() + ": " + error.path("desc").asText());
            }
            if (answer.has("return")) return answer.get("return");
        }
    }

    public static ObjectNode args() {
        return JsonLineChannel.JSON.createObjectNode();
    }

    @Override
    public void close() {
        channel.close();
    }
}
