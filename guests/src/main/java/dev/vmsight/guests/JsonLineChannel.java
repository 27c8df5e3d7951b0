package dev.vmsight.guests;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * One JSON object per line over a unix socket (QMP and qemu-guest-agent both speak this). A
 * daemon reader thread parses incoming lines into a queue so that every read has a deadline:
 * a blocking SocketChannel read has none.
 */
final class JsonLineChannel implements AutoCloseable {

    static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonNode CLOSED = JSON.createObjectNode().put("vmsight-closed", true);

    private final SocketChannel channel;
    private final Path socket;
    private final String peer;
    private final BlockingQueue<JsonNode> incoming = new LinkedBlockingQueue<>();
    private volatile String readError;

    JsonLineChannel(SocketChannel channel, Path socket, String peer) {
        this.channel = channel;
        this.socket = socket;
        this.peer = peer;
        Thread reader = new Thread(this::readLoop, "vmsight-" + peer + "-reader");
        reader.setDaemon(true);
        reader.start();
    }

    static JsonLineChannel connect(Path socket, Duration timeout, String peer) {
        return new JsonLineChannel(UnixSockets.connect(socket, timeout, peer), socket, peer);
    }

    void send(JsonNode message) {
        try {
            byte[] line = (JSON.writeValueAsString(message) + "\n").getBytes(StandardCharsets.UTF_8);
            ByteBuffer buf = ByteBuffer.wrap(line);
            synchronized (channel) {
                while (buf.hasRemaining()) channel.write(buf);
            }
        } catch (IOException e) {
            throw new GuestException(peer + " on " + socket + ": write failed: " + e.getMessage(), e);
        }
    }

    /** The next message, or a {@link GuestException} when none arrives within {@code timeout}. */
    JsonNode next(Duration timeout, String waitingFor) {
        JsonNode node;
        try {
            node = incoming.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new GuestException("interrupted waiting for " + peer, e);
        }
        if (node == null) {
            throw new GuestException(peer + " on " + socket + " did not answer " + waitingFor + " within "
                    + timeout.toMillis() + " ms");
        }
        if (node == CLOSED) {
            incoming.add(CLOSED);
            throw new GuestException(peer + " on " + socket + " closed the connection"
                    + (readError == null ? "" : ": " + readError) + " (waiting for " + waitingFor + ")");
        }
        return node;
    }

    /** Drops whatever arrived and was not read (stale answers from an earlier, abandoned request). */
    void discardPending() {
        JsonNode n;
        while ((n = incoming.peek()) != null && n != CLOSED) incoming.poll();
    }

    private void readLoop() {
        ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        try {
            while (channel.read(buf) >= 0) {
                buf.flip();
                while (buf.hasRemaining()) {
                    byte b = buf.get();
                    // qemu-ga's guest-sync-delimited prefixes answers with 0xFF; treat it as a separator.
                    if (b == '\n' || b == (byte) 0xFF) {
                        deliver(line.toString(StandardCharsets.UTF_8));
                        line.reset();
                    } else {
                        line.write(b);
                    }
                }
                buf.clear();
            }
        } catch (IOException e) {
            readError = e.getMessage();
        } finally {
            incoming.add(CLOSED);
        }
    }

    private void deliver(String text) {
        if (text.isBlank()) return;
        try {
            incoming.add(JSON.readTree(text));
        } catch (JsonProcessingException e) {
            readError = "unparseable line from " + peer + ": " + text;
        }
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException ignored) {
            // closing a socket whose peer is gone: nothing to do
        }
    }
}
