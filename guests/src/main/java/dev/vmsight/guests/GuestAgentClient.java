package dev.vmsight.guests;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A qemu-guest-agent connection over the virtio-serial chardev socket. The channel may hold stale
 * answers from an earlier client, so every session starts with guest-sync and a fresh id, and
 * answers are read until that id comes back.
 */
public final class GuestAgentClient implements AutoCloseable {

    private static final Duration SYNC_ATTEMPT = Duration.ofSeconds(2);
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);

    private final JsonLineChannel channel;
    private final Path socket;

    private GuestAgentClient(JsonLineChannel channel, Path socket) {
        this.channel = channel;
        this.socket = socket;
    }

    /** Connects and synchronises; retries guest-sync until {@code timeout} (the agent may still be starting). */
    public static GuestAgentClient connect(Path socket, Duration timeout) {
        JsonLineChannel ch = JsonLineChannel.connect(socket, timeout, "qemu-guest-agent");
        GuestAgentClient qga = new GuestAgentClient(ch, socket);
        try {
            qga.sync(timeout);
            return qga;
        } catch (RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    synchronized void sync(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            long id = ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE >> 12);
            channel.discardPending();
            channel.send(JsonLineChannel.JSON.createObjectNode().put("execute", "guest-sync")
                    .set("arguments", JsonLineChannel.JSON.createObjectNode().put("id", id)));
            try {
                long attemptEnd = Math.min(deadline, System.nanoTime() + SYNC_ATTEMPT.toNanos());
                while (true) {
                    Duration left = Duration.ofNanos(Math.max(1, attemptEnd - System.nanoTime()));
                    JsonNode answer = channel.next(left, "guest-sync");
                    if (answer.path("return").asLong(-1) == id) return;
                }
            } catch (GuestException e) {
                if (System.nanoTime() >= deadline) {
                    throw new GuestException("qemu-guest-agent on " + socket + " did not answer guest-sync within "
                            + timeout.toMillis() + " ms", e);
                }
            }
        }
    }

    synchronized JsonNode execute(String command, ObjectNode arguments) {
        ObjectNode request = JsonLineChannel.JSON.createObjectNode().put("execute", command);
        if (arguments != null) request.set("arguments", arguments);
        channel.send(request);
        JsonNode answer = channel.next(REQUEST_TIMEOUT, "'" + command + "'");
        if (answer.has("error")) {
            throw new GuestException("qemu-guest-agent '" + command + "' failed: " + answer.get("error").path("desc").asText());
        }
        if (!answer.has("return")) {
            throw new GuestException("qemu-guest-agent '" + command + "' answered " + answer + " (no return)");
        }
        return answer.get("return");
    }

    /** guest-exec with captured output, then guest-exec-status until it exits or {@code timeout} passes. */
    public ExecResult exec(Duration timeout, List<String> argv) {
        return GuestExec.run(this::execute, timeout, argv, "the guest behind " + socket);
    }

    /** Writes a file in the guest (guest-file-open/write/close). */
    public void writeFile(String guestPath, byte[] content) {
        GuestExec.writeFile(this::execute, guestPath, content, "the guest behind " + socket);
    }

    /** guest-exec with captured output, without waiting: the guest PID of the started process. */
    long spawn(List<String> argv) {
        return GuestExec.spawn(this::execute, argv);
    }

    /** guest-exec-status of a process started by {@link #spawn}: its result, or null while it runs. */
    ExecResult status(long pid) {
        return GuestExec.status(this::execute, pid);
    }

    @Override
    public void close() {
        channel.close();
    }
}
