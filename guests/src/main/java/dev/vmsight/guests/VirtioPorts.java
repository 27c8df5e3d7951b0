package dev.vmsight.guests;

import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * virtio-serial ports seen from inside a guest ({@code /dev/virtio-ports/NAME}, a character
 * device): how a security VM reaches the QMP monitor and qemu-guest-agent of the guest it watches.
 * A port has one opener at a time (the kernel answers EBUSY to a second), and the host side stays
 * connected when we close it.
 */
public final class VirtioPorts {
    private static final int S_IFMT = 0170000;
    private static final int S_IFCHR = 0020000;
    /** A write waits while the port's host side is not connected (the watched guest's QEMU is gone): bounded here. */
    static final long WRITE_TIMEOUT_MS = 10_000;

    private VirtioPorts() {}

    /** True when {@code path} is a character device (a virtio-serial port, not a unix socket). */
    public static boolean isPort(Path path) {
        try {
            Object mode = Files.getAttribute(path, "unix:mode");
            return mode instanceof Integer m && (m & S_IFMT) == S_IFCHR;
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return false;
        }
    }

    static PortTransport open(Path port, String peer) {
        try {
            return new PortTransport(new RandomAccessFile(port.toFile(), "rw"), port, peer);
        } catch (IOException e) {
            String why = e.getMessage() != null && e.getMessage().contains("busy")
                    ? "another process holds it (a port takes one opener)" : e.toString();
            throw new GuestException("cannot open the " + peer + " port " + port + ": " + why, e);
        }
    }

    /**
     * One open port, read and written through separate streams over its one descriptor: a
     * FileChannel would serialise a write behind a read blocked waiting for data. Writes run on a
     * thread of their own so that a caller waits at most {@link #WRITE_TIMEOUT_MS}.
     */
    static final class PortTransport implements JsonLineChannel.Transport {
        private final RandomAccessFile file;
        private final FileInputStream in;
        private final FileOutputStream out;
        private final Path port;
        private final ExecutorService writer;

        PortTransport(RandomAccessFile file, Path port, String peer) throws IOException {
            this.file = file;
            this.in = new FileInputStream(file.getFD());
            this.out = new FileOutputStream(file.getFD());
            this.port = port;
            this.writer = Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "vmsight-" + peer + "-writer");
                t.setDaemon(true);
                return t;
            });
        }

        @Override
        public int read(ByteBuffer buf) throws IOException {
            int n = in.read(buf.array(), buf.arrayOffset() + buf.position(), buf.remaining());
            if (n > 0) buf.position(buf.position() + n);
            return n;
        }

        @Override
        public void write(byte[] bytes) throws IOException {
            Future<?> f;
            try {
                f = writer.submit(() -> {
                    out.write(bytes);
                    return null;
                });
            } catch (java.util.concurrent.RejectedExecutionException e) {
                throw new IOException("the port " + port + " is closed (its host side went away)", e);
            }
            try {
                f.get(WRITE_TIMEOUT_MS, TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                throw new IOException("the port " + port + " took no data for " + WRITE_TIMEOUT_MS
                        + " ms (its host side is not connected: is the watched guest's QEMU running?)");
            } catch (ExecutionException e) {
                throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted writing to " + port, e);
            }
        }

        @Override
        public void close() throws IOException {
            writer.shutdownNow();
            file.close();
        }
    }
}
