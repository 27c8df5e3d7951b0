package dev.vmsight.guests;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A qemu-guest-agent connection over the virtio-serial chardev socket. The channel may hold stale
 * answers from an earlier client, so every session starts with guest-sync and a fresh id, and
 * answers are read until that id comes back.
 */
final class GuestAgentClient implements AutoCloseable {

    private static final Duration SYNC_ATTEMPT = Duration.ofSeconds(2);
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);

    private final JsonLineChannel channel;
    private final Path socket;

    private GuestAgentClient(JsonLineChannel channel, Path socket) {
        this.channel = channel;
        this.socket = socket;
    }

    /** Connects and synchronises; retries guest-sync until {@code timeout} (the agent may still be starting). */
    static GuestAgentClient connect(Path socket, Duration timeout) {
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
    ExecResult exec(Duration timeout, List<String> argv) {
        long pid = spawn(argv);
        long deadline = System.nanoTime() + timeout.toNanos();
        long pollMillis = 5;
        while (true) {
            ExecResult result = status(pid);
            if (result != null) return result;
            if (System.nanoTime() > deadline) {
                throw new GuestException("guest command '" + String.join(" ", argv) + "' (guest PID " + pid
                        + ") did not finish within " + timeout.toMillis() + " ms");
            }
            UnixSockets.sleepQuietly(Duration.ofMillis(pollMillis));
            pollMillis = Math.min(100, pollMillis * 2);
        }
    }

    /** guest-exec with captured output, without waiting: the guest PID of the started process. */
    long spawn(List<String> argv) {
        if (argv.isEmpty()) throw new GuestException("nothing to run: the command is empty");
        ObjectNode args = JsonLineChannel.JSON.createObjectNode().put("path", argv.get(0)).put("capture-output", true);
        ArrayNode rest = args.putArray("arg");
        argv.subList(1, argv.size()).forEach(rest::add);
        long pid = execute("guest-exec", args).path("pid").asLong(-1);
        if (pid < 0) throw new GuestException("qemu-guest-agent did not return a PID for " + argv);
        return pid;
    }

    /** guest-exec-status of a process started by {@link #spawn}: its result, or null while it runs. */
    ExecResult status(long pid) {
        JsonNode status = execute("guest-exec-status", JsonLineChannel.JSON.createObjectNode().put("pid", pid));
        if (!status.path("exited").asBoolean(false)) return null;
        // A process killed by a signal has no exit code; report it the way a shell does.
        int code = status.has("exitcode") ? status.get("exitcode").asInt() : 128 + status.path("signal").asInt(0);
        return new ExecResult(code, decode(status, "out-data"), decode(status, "err-data"));
    }

    private static String decode(JsonNode status, String field) {
        String b64 = status.path(field).asText("");
        return new String(Base64.getDecoder().decode(b64), StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        channel.close();
    }
}
