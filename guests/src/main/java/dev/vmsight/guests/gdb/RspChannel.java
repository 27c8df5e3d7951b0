package dev.vmsight.guests.gdb;

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
 * GDB remote serial protocol framing over a socket: {@code $payload#cc} packets with a two-digit
 * hex checksum (sum of payload bytes mod 256), acknowledged by {@code +} (or {@code -} to ask for a
 * resend). A daemon reader thread checks and acknowledges incoming packets and queues them, so
 * every wait has a deadline. Not thread-safe for concurrent requests: {@link GdbClient} serialises.
 */
final class RspChannel implements AutoCloseable {

    /** What the reader thread saw. */
    sealed interface Frame permits Ack, Nak, Packet, Closed {}
    record Ack() implements Frame {}
    record Nak() implements Frame {}
    record Packet(String payload) implements Frame {}
    record Closed(String why) implements Frame {}

    private static final Duration ACK_TIMEOUT = Duration.ofSeconds(5);
    private static final int MAX_RESENDS = 3;

    private final SocketChannel channel;
    private final Path socket;
    private final BlockingQueue<Frame> frames = new LinkedBlockingQueue<>();

    RspChannel(SocketChannel channel, Path socket) {
        this.channel = channel;
        this.socket = socket;
        Thread reader = new Thread(this::readLoop, "vmsight-gdb-reader");
        reader.setDaemon(true);
        reader.start();
    }

    /** {@code $payload#cc} for {@code payload}. */
    static String frame(String payload) {
        return "$" + payload + "#" + String.format("%02x", checksum(payload.getBytes(StandardCharsets.ISO_8859_1)));
    }

    static int checksum(byte[] payload) {
        int sum = 0;
        for (byte b : payload) sum += b & 0xff;
        return sum & 0xff;
    }

    /** Undoes the protocol's escaping ({@code }} then byte XOR 0x20) and run-length encoding ({@code X*n}). */
    static String decode(byte[] raw) {
        StringBuilder out = new StringBuilder(raw.length);
        for (int i = 0; i < raw.length; i++) {
            int b = raw[i] & 0xff;
            if (b == '}' && i + 1 < raw.length) {
                out.append((char) ((raw[++i] & 0xff) ^ 0x20));
            } else if (b == '*' && i + 1 < raw.length && out.length() > 0) {
                int repeat = (raw[++i] & 0xff) - 29;
                char last = out.charAt(out.length() - 1);
                for (int r = 0; r < repeat; r++) out.append(last);
            } else {
                out.append((char) b);
            }
        }
        return out.toString();
    }

    /** Sends a packet and waits for its acknowledgement, resending on {@code -}. Unread packets are dropped first. */
    void send(String payload) {
        frames.removeIf(f -> f instanceof Packet || f instanceof Ack || f instanceof Nak);
        byte[] bytes = frame(payload).getBytes(StandardCharsets.ISO_8859_1);
        for (int attempt = 0; attempt <= MAX_RESENDS; attempt++) {
            write(bytes);
            while (true) {
                Frame f = next(ACK_TIMEOUT, "the acknowledgement of '" + abbreviate(payload) + "'");
                if (f instanceof Ack) return;
                if (f instanceof Nak) break;
                // A packet before the ack (e.g. a late stop reply): the stub acked ours implicitly.
                if (f instanceof Packet p) {
                    frames.add(p);
                    return;
                }
            }
        }
        throw new GdbException("gdbstub on " + socket + " rejected '" + abbreviate(payload) + "' " + (MAX_RESENDS + 1) + " times");
    }

    /** Sends the out-of-band interrupt byte (0x03): the stub stops the guest and sends a stop reply. */
    void interrupt() {
        write(new byte[] {0x03});
    }

    /** The next packet from the stub within {@code timeout}; stray acks are skipped. */
    String receive(Duration timeout, String waitingFor) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            Frame f = next(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())), waitingFor);
            if (f instanceof Packet p) return p.payload();
        }
    }

    /** Sends a request and returns its answer packet. */
    String request(String payload, Duration timeout) {
        send(payload);
        return receive(timeout, "the answer to '" + abbreviate(payload) + "'");
    }

    private Frame next(Duration timeout, String waitingFor) {
        Frame f;
        try {
            f = frames.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new GdbException("interrupted waiting for " + waitingFor, e);
        }
        if (f == null) {
            throw new GdbTimeoutException("gdbstub on " + socket + " sent no " + waitingFor + " within " + timeout.toMillis() + " ms");
        }
        if (f instanceof Closed c) {
            frames.add(c);
            throw new GdbException("gdbstub on " + socket + " closed the connection (" + c.why() + ") while waiting for " + waitingFor);
        }
        return f;
    }

    private void write(byte[] bytes) {
        ByteBuffer buf = ByteBuffer.wrap(bytes);
        try {
            synchronized (channel) {
                while (buf.hasRemaining()) channel.write(buf);
            }
        } catch (IOException e) {
            throw new GdbException("gdbstub on " + socket + ": write failed: " + e.getMessage(), e);
        }
    }

    private void readLoop() {
        ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
        ByteArrayOutputStream payload = new ByteArrayOutputStream();
        // States: outside a packet, in the payload, then the two checksum digits.
        int state = 0;
        int sumHigh = 0;
        String why = "end of stream";
        try {
            while (channel.read(buf) >= 0) {
                buf.flip();
                while (buf.hasRemaining()) {
                    int b = buf.get() & 0xff;
                    switch (state) {
                        case 0 -> {
                            if (b == '+') frames.add(new Ack());
                            else if (b == '-') frames.add(new Nak());
                            else if (b == '$') { payload.reset(); state = 1; }
                        }
                        case 1 -> {
                            if (b == '#') state = 2;
                            else payload.write(b);
                        }
                        case 2 -> { sumHigh = Character.digit(b, 16); state = 3; }
                        default -> {
                            int sent = (sumHigh << 4) | Character.digit(b, 16);
                            byte[] raw = payload.toByteArray();
                            if (sumHigh >= 0 && sent == checksum(raw)) {
                                write(new byte[] {'+'});
                                frames.add(new Packet(decode(raw)));
                            } else {
                                write(new byte[] {'-'});
                            }
                            state = 0;
                        }
                    }
                }
                buf.clear();
            }
        } catch (IOException | GdbException e) {
            why = e.getMessage();
        } finally {
            frames.add(new Closed(why));
        }
    }

    static String abbreviate(String payload) {
        return payload.length() <= 40 ? payload : payload.substring(0, 40) + "...";
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException ignored) {
            // the stub is gone already
        }
    }
}
