package dev.vmsight.guests;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A QMP connection: reads the greeting, negotiates capabilities, then runs one command at a time.
 * Every command carries an id, unique to this process, and only the answer with that id is taken,
 * so an answer left over from an abandoned command (or an earlier process) is never mistaken for
 * the current one; asynchronous events (objects with an "event" member) are skipped.
 *
 * <p>Over a virtio-serial port (a security VM's view of the watched guest's QMP) the session
 * outlives our opens: only the first open sees the greeting, later ones find QMP already in
 * command mode. There, capabilities are negotiated without waiting for a greeting, and QMP's
 * "already complete" refusal counts as success.
 */
public final class QmpClient implements AutoCloseable {

    private static final AtomicLong IDS = new AtomicLong();
    /**
     * Ids differ between processes too: on a port, answers to a dead agent's last commands can
     * wait in the channel for the agent that the security VM's init starts next.
     */
    private static final String ID_PREFIX = "vmsight-" + Long.toHexString(new java.security.SecureRandom().nextLong()) + "-";

    private final JsonLineChannel channel;
    private final Path socket;

    private QmpClient(JsonLineChannel channel, Path socket) {
        this.channel = channel;
        this.socket = socket;
    }

    /** Connects to a QMP unix socket (retrying until {@code timeout}) or opens a virtio-serial port leading to one. */
    public static QmpClient connect(Path socket, Duration timeout) {
        JsonLineChannel ch = JsonLineChannel.connect(socket, timeout, "QMP");
        try {
            QmpClient qmp = new QmpClient(ch, socket);
            if (ch.isPort()) {
                qmp.negotiateOnPort(timeout);
                return qmp;
            }
            JsonNode greeting = ch.next(timeout, "the greeting");
            if (!greeting.has("QMP")) {
                throw new GuestException("QMP on " + socket + " greeted with " + greeting + ", not a QMP greeting");
            }
            qmp.execute("qmp_capabilities", null, timeout);
            return qmp;
        } catch (RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    private void negotiateOnPort(Duration timeout) {
        try {
            execute("qmp_capabilities", null, timeout);
        } catch (QmpError e) {
            // QEMU: "Capabilities negotiation is already complete, command ignored" (class CommandNotFound)
            if (!e.errorClass.equals("CommandNotFound")) throw e;
        }
    }

    /** Runs {@code command} and returns its "return" member; a QMP error becomes a {@link GuestException}. */
    public synchronized JsonNode execute(String command, ObjectNode arguments, Duration timeout) {
        String id = ID_PREFIX + IDS.incrementAndGet();
        ObjectNode request = JsonLineChannel.JSON.createObjectNode().put("execute", command).put("id", id);
        if (arguments != null) request.set("arguments", arguments);
        channel.discardPending();
        channel.send(request);
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            Duration left = Duration.ofNanos(Math.max(1, deadline - System.nanoTime()));
            JsonNode answer = channel.next(left, "'" + command + "'");
            if (answer.has("event") || answer.has("QMP") || !id.equals(answer.path("id").asText())) continue;
            if (answer.has("error")) {
                JsonNode error = answer.get("error");
                throw new QmpError(error.path("class").asText(), "QMP '" + command + "' on " + socket + " failed: "
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

    /** QEMU refused a command; {@code errorClass} is QMP's error class (GenericError, CommandNotFound, DeviceNotFound...). */
    public static final class QmpError extends GuestException {
        private final String errorClass;

        QmpError(String errorClass, String message) {
            super(message);
            this.errorClass = errorClass;
        }

        public String errorClass() {
            return errorClass;
        }
    }
}
