package dev.vmsight.guests;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;

/**
 * qemu-guest-agent's guest-exec protocol (guest-exec with captured output, then
 * guest-exec-status until the process exits), over any transport: the agent's own socket or
 * libvirt's qemuAgentCommand.
 */
public final class GuestExec {

    /** Sends one agent command and returns its {@code "return"} member; throws {@link GuestException} on an error answer. */
    @FunctionalInterface
    public interface Agent {
        JsonNode call(String command, ObjectNode arguments);
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private GuestExec() { }

    /** Starts {@code argv} without waiting; returns the guest PID. */
    public static long spawn(Agent agent, List<String> argv) {
        if (argv.isEmpty()) throw new GuestException("nothing to run: the command is empty");
        ObjectNode args = JSON.createObjectNode().put("path", argv.get(0)).put("capture-output", true);
        ArrayNode rest = args.putArray("arg");
        argv.subList(1, argv.size()).forEach(rest::add);
        long pid = agent.call("guest-exec", args).path("pid").asLong(-1);
        if (pid < 0) throw new GuestException("qemu-guest-agent did not return a PID for " + argv);
        return pid;
    }

    /** The result of a process started by {@link #spawn}, or null while it still runs. */
    public static ExecResult status(Agent agent, long pid) {
        JsonNode status = agent.call("guest-exec-status", JSON.createObjectNode().put("pid", pid));
        if (!status.path("exited").asBoolean(false)) return null;
        // A process killed by a signal has no exit code; report it the way a shell does.
        int code = status.has("exitcode") ? status.get("exitcode").asInt() : 128 + status.path("signal").asInt(0);
        return new ExecResult(code, decode(status, "out-data"), decode(status, "err-data"));
    }

    /** qemu-guest-agent moves at most this much per guest-file-write (its default message limit is 1 MiB of JSON). */
    static final int WRITE_CHUNK = 48 * 1024;

    /**
     * Writes {@code content} to {@code guestPath} in the guest (created or truncated) with
     * guest-file-open / guest-file-write / guest-file-close, in chunks; the handle is closed even
     * when a write fails.
     */
    public static void writeFile(Agent agent, String guestPath, byte[] content, String where) {
        long handle = agent.call("guest-file-open", JSON.createObjectNode().put("path", guestPath).put("mode", "w")).asLong(-1);
        if (handle < 0) throw new GuestException("qemu-guest-agent of " + where + " did not open " + guestPath + " for writing");
        try {
            for (int off = 0; off < content.length; off += WRITE_CHUNK) {
                int n = Math.min(WRITE_CHUNK, content.length - off);
                String chunk = Base64.getEncoder().encodeToString(java.util.Arrays.copyOfRange(content, off, off + n));
                long written = agent.call("guest-file-write", JSON.createObjectNode().put("handle", handle).put("buf-b64", chunk))
                        .path("count").asLong(-1);
                if (written != n) {
                    throw new GuestException("writing " + guestPath + " in " + where + ": " + written + " of " + n
                            + " bytes at offset " + off + " written");
                }
            }
        } finally {
            agent.call("guest-file-close", JSON.createObjectNode().put("handle", handle));
        }
    }

    /** Runs {@code argv} and waits up to {@code timeout} for it to exit; {@code where} names the guest in errors. */
    public static ExecResult run(Agent agent, Duration timeout, List<String> argv, String where) {
        long pid = spawn(agent, argv);
        long deadline = System.nanoTime() + timeout.toNanos();
        long pollMillis = 5;
        while (true) {
            ExecResult result = status(agent, pid);
            if (result != null) return result;
            if (System.nanoTime() > deadline) {
                throw new GuestException("guest command '" + String.join(" ", argv) + "' (guest PID " + pid
                        + ") did not finish within " + timeout.toMillis() + " ms in " + where);
            }
            UnixSockets.sleepQuietly(Duration.ofMillis(pollMillis));
            pollMillis = Math.min(100, pollMillis * 2);
        }
    }

    private static String decode(JsonNode status, String field) {
        String b64 = status.path(field).asText("");
        return new String(Base64.getDecoder().decode(b64), StandardCharsets.UTF_8);
    }
}
