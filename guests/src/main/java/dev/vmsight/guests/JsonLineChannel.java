package dev.vmsight.guests;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * One JSON object per line over a unix socket or a virtio-serial port (QMP and qemu-guest-agent
 * both speak this; a security VM reaches the watched guest's QMP and agent through ports). A
 * daemon reader thread parses incoming lines into a queue so that every read has a deadline: a
 * blocking channel read has none.
 */
final class JsonLineChannel implements AutoCloseable {

    static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonNode CLOSED = JSON.createObjectNode().put("vmsight-closed", true);
    /** A virtio-serial port stays open for the life of this process, one channel per port (see {@link #connect}). */
    private static final Map<Path, JsonLineChannel> PORTS = new ConcurrentHashMap<>();

    private final Transport transport;
    private final Path socket;
    private final String peer;
    private final BlockingQueue<JsonNode> incoming = new LinkedBlockingQueue<>();
    private volatile String readError;
    private volatile boolean ended;

    JsonLineChannel(Transport transport, Path socket, String peer) {
        this.transport = transport;
        this.socket = socket;
        this.peer = peer;
        Thread reader = new Thread(this::readLoop, "vmsight-" + peer + "-reader");
        reader.setDaemon(true);
        reader.start();
    }

    /**
     * Connects to a unix socket (retrying until {@code timeout}) or opens a virtio-serial port (a
     * character device). A port is opened once and shared by every later connect: the kernel lets
     * one file hold a port, and a read blocked in it cannot be interrupted, so a closed port would
     * stay busy until its next byte. {@link #close()} keeps it open. Once its reader saw the end
     * (the host side went away: the security VM's watch channels never reconnect) the port is
     * not opened again: every connect says so at once.
     */
    static JsonLineChannel connect(Path endpoint, Duration timeout, String peer) {
        if (VirtioPorts.isPort(endpoint)) {
            return PORTS.compute(endpoint.toAbsolutePath(), (p, open) -> {
                if (open == null) return new JsonLineChannel(VirtioPorts.open(p, peer), p, peer);
                if (open.ended) throw open.portClosed();
                return open;
            });
        }
        return new JsonLineChannel(Transport.of(UnixSockets.connect(endpoint, timeout, peer)), endpoint, peer);
    }

    /** True when the other end is a virtio-serial port: it stays connected across our opens (no fresh greeting). */
    boolean isPort() {
        return transport instanceof VirtioPorts.PortTransport;
    }

    private GuestException portClosed() {
        return new GuestException("the " + peer + " port " + socket + " was closed by its host side"
                + (readError == null ? "" : " (" + readError + ")") + ": the watched guest's QEMU is gone; boot the security VM again to watch a new one");
    }

    void send(JsonNode message) {
        if (ended && isPort()) throw portClosed();
        try {
            transport.write((JSON.writeValueAsString(message) + "\n").getBytes(StandardCharsets.UTF_8));
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
            while (transport.read(buf) >= 0) {
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
            if (isPort()) closeTransport();   // nobody else closes a port
            ended = true;
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

    /** Closes a socket connection; a port stays open for the next connect (see {@link #connect}). */
    @Override
    public void close() {
        if (!isPort()) closeTransport();
    }

    private void closeTransport() {
        try {
            transport.close();
        } catch (IOException ignored) {
            // closing a connection whose peer is gone: nothing to do
        }
    }

    /** Both directions of a connection; reads and writes may run at once on different threads. */
    interface Transport extends java.io.Closeable {
        /** Reads into {@code buf}; -1 at the end. */
        int read(ByteBuffer buf) throws IOException;

        void write(byte[] bytes) throws IOException;

        static Transport of(java.nio.channels.SocketChannel ch) {
            return new Transport() {
                public int read(ByteBuffer buf) throws IOException { return ch.read(buf); }

                public void write(byte[] bytes) throws IOException {
                    ByteBuffer b = ByteBuffer.wrap(bytes);
                    synchronized (ch) {
                        while (b.hasRemaining()) ch.write(b);
                    }
                }

                public void close() throws IOException { ch.close(); }
            };
        }
    }
}
