package dev.vmsight.guests;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/** Connecting to the unix sockets QEMU listens on, with a deadline (QEMU creates them a little after it starts). */
public final class UnixSockets {

    /** The longest path a unix socket address may have on Linux (sun_path is 108 bytes with its NUL). */
    public static final int MAX_PATH = 107;

    private UnixSockets() {}

    /**
     * Connects to {@code socket}, retrying while it does not exist yet or refuses, until
     * {@code timeout}; throws a {@link GuestException} naming the socket when it never answers.
     */
    public static SocketChannel connect(Path socket, Duration timeout, String what) {
        checkLength(socket);
        long deadline = System.nanoTime() + timeout.toNanos();
        IOException last = null;
        do {
            if (Files.exists(socket)) {
                try {
                    SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
                    try {
                        ch.connect(UnixDomainSocketAddress.of(socket));
                        return ch;
                    } catch (IOException e) {
                        ch.close();
                        throw e;
                    }
                } catch (IOException e) {
                    last = e;
                }
            }
            sleepQuietly(Duration.ofMillis(20));
        } while (System.nanoTime() < deadline);
        throw new GuestException("no " + what + " listening on " + socket + " after " + timeout.toMillis() + " ms"
                + (last == null ? " (socket file does not exist)" : ": " + last.getMessage()));
    }

    /** True when something accepts connections on {@code socket} right now. */
    public static boolean isListening(Path socket) {
        if (!Files.exists(socket)) return false;
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    static void checkLength(Path socket) {
        int length = socket.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        if (length > MAX_PATH) {
            throw new GuestException("socket path " + socket + " is " + length + " bytes; unix sockets allow "
                    + MAX_PATH + " (use a shorter run directory)");
        }
    }

    static void sleepQuietly(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new GuestException("interrupted", e);
        }
    }
}
